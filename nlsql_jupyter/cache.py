"""Where downloads and builds made for this project are kept: one per-user cache, outside any
checkout, so a second clone on the same machine finds them and only verifies them.

`scripts/install-widget-js.sh` puts the widget JS that exports inline there (`widget-js/`),
`scripts/install-local-model.sh` the test model (`models/`) and the llama-cpp-python wheel it
builds (`wheels/`). The directory is `$NLSQL_CACHE_DIR`, else `$XDG_CACHE_HOME/nlsql-jupyter`,
else `~/.cache/nlsql-jupyter`: the same rule as `scripts/cache-dir.sh`. A checkout's own
`.cache/`, where these were kept before, is still read when the cache lacks them.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_dir", "cached"]

CACHE_ENV = "NLSQL_CACHE_DIR"

# Where the install scripts kept everything before: inside the checkout (an editable install).
_CHECKOUT_CACHE = Path(__file__).resolve().parent.parent / ".cache"


def cache_dir() -> Path:
    """The per-user cache directory (it may not exist yet)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nlsql-jupyter"


def cached(name: str) -> Path:
    """`name` (such as `models/x.gguf`) in the cache, or in the checkout's old `.cache/` when it
    is only there."""
    path = cache_dir() / name
    legacy = _CHECKOUT_CACHE / name
    return legacy if not path.exists() and legacy.exists() else path
