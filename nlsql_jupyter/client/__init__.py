"""The kernel's connection to the nlsql server: `HybridClient` and its configuration."""

from __future__ import annotations

from nlsql_jupyter.client.config import Backoff, ClientConfig
from nlsql_jupyter.client.hybrid import HybridClient, ProgressCallback

__all__ = ["Backoff", "ClientConfig", "HybridClient", "ProgressCallback"]
