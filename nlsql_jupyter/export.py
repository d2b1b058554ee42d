"""Export an executed notebook to one HTML file that shows everything with the network off.

nbconvert's HTML template loads require.js, MathJax and the ipywidgets HTML manager from public
CDNs. Charts and tables need none of them (a chart output carries an SVG, which the template
embeds as a `data:` image; a DataFrame is plain HTML), but saved widget state does: this module
inlines the widget JS fetched by `scripts/install-widget-js.sh` instead, and leaves MathJax and
Mermaid (CDN-only) out, so the file makes no outside request.

    python -m nlsql_jupyter.export executed.ipynb [out.html]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import warnings
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from markupsafe import Markup
from nbconvert import HTMLExporter

from nlsql_jupyter.cache import cached

WIDGET_JS_ENV = "NLSQL_WIDGET_JS"
"""A directory holding `require.js`, `embed-amd.js` and its woff2 fonts (default: the cache)."""

_REQUIRE_JS = "require.js"
_WIDGET_JS = "embed-amd.js"

# The lab template with each CDN script replaced: require.js and the widget manager inline (when
# available), no MathJax, no Mermaid. nbconvert only takes URLs for these, hence the overrides.
_TEMPLATE_NAME = "nlsql_offline.html.j2"
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}
{%- if resources.nlsql_require_js %}<script>{{ resources.nlsql_require_js }}</script>{% endif -%}
{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}
{%- if resources.nlsql_widget_js -%}
<script>{{ resources.nlsql_widget_js }}</script>
{%- endif -%}
{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def widget_js_dir() -> Path | None:
    """The directory with the widget JS ($NLSQL_WIDGET_JS, else where
    scripts/install-widget-js.sh puts it: `nlsql_jupyter.cache`), if complete."""
    configured = os.environ.get(WIDGET_JS_ENV)
    directory = Path(configured) if configured else cached("widget-js")
    files = [directory / _REQUIRE_JS, directory / _WIDGET_JS]
    if all(f.is_file() for f in files) and any(directory.glob("*.woff2")):
        return directory
    return None


def _inline_script(text: str) -> Markup:
    """JS text made safe inside <script>...</script>.

    Inlined by hand because nbconvert only knows script URLs; `</script` in the JS would end the
    element early, and `<\\/script` means the same inside JS strings and regexes.
    """
    return Markup(re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE))


def _widget_js(directory: Path) -> str:
    """The widget manager bundle with its Font Awesome woff2 fonts as `data:` URLs.

    The bundle's CSS asks for its fonts at URLs relative to its own script (webpack's public
    path, `<var>.p`); an inlined script has none, so icons would make failing `file:` requests.
    Browsers take woff2 first and fetch no other format once it loads.
    """

    def woff2_data_url(match: re.Match[str]) -> str:
        font = base64.b64encode((directory / match[1]).read_bytes()).decode("ascii")
        return json.dumps(f"data:font/woff2;base64,{font}")

    text = (directory / _WIDGET_JS).read_text(encoding="utf-8")
    return re.sub(r'\b[\w$]+\.p\+"([0-9a-f]+\.woff2)"', woff2_data_url, text)


def export_html(notebook_path: str | Path, html_path: str | Path, *, offline: bool = True) -> Path:
    """Write `notebook_path` (already executed) as one HTML file; return its path.

    With `offline=False` this is plain `jupyter nbconvert --to html` (CDN scripts and all).
    """
    notebook_path, html_path = Path(notebook_path), Path(html_path)
    notebook = nbformat.read(notebook_path, as_version=4)
    resources: dict[str, object] = {
        "metadata": {"name": notebook_path.stem, "path": str(notebook_path.parent)}
    }
    if offline:
        exporter = HTMLExporter(
            extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})], template_file=_TEMPLATE_NAME
        )
        directory = widget_js_dir()
        if directory is not None:
            require_js = (directory / _REQUIRE_JS).read_text(encoding="utf-8")
            resources["nlsql_require_js"] = _inline_script(require_js)
            if "widgets" in notebook.metadata:
                resources["nlsql_widget_js"] = _inline_script(_widget_js(directory))
        elif "widgets" in notebook.metadata:
            warnings.warn(
                f"{notebook_path}: widgets will not render in {html_path}: the widget JS is "
                f"missing (run scripts/install-widget-js.sh or set {WIDGET_JS_ENV}); "
                "charts and tables are unaffected",
                stacklevel=2,
            )
    else:
        exporter = HTMLExporter()
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def main(argv: list[str] | None = None) -> None:
    """`python -m nlsql_jupyter.export IN.ipynb [OUT.html]`."""
    parser = argparse.ArgumentParser(
        prog="python -m nlsql_jupyter.export",
        description="Export an executed notebook to HTML that needs no network to show "
        "its charts, tables and widgets.",
    )
    parser.add_argument("notebook", type=Path, help="an executed .ipynb")
    parser.add_argument("html", type=Path, nargs="?", help="default: the notebook's name, .html")
    args = parser.parse_args(argv)
    print(export_html(args.notebook, args.html or args.notebook.with_suffix(".html")))


if __name__ == "__main__":
    main()
