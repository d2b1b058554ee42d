#!/usr/bin/env bash
# Fetch the JavaScript that `python -m nlsql_jupyter.export` inlines so that exported notebooks
# render their ipywidgets with the network off: the widget HTML manager (the same file
# nbconvert's template would load from a CDN) with its Font Awesome woff2 fonts, and require.js,
# both from the npm registry.
# Kept in the per-user cache (scripts/cache-dir.sh: widget-js/), outside the checkout;
# idempotent and quiet once they are there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cache-dir.sh

# html-manager 1.x renders the widget state of ipywidgets 8.
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.15
REQUIREJS=requirejs@2.3.8
if [ -z "${NLSQL_WIDGET_JS:-}" ]; then
  adopt_legacy widget-js
fi
DEST=${NLSQL_WIDGET_JS:-$NLSQL_CACHE/widget-js}
STAMP="$DEST/VERSIONS"
WANT="$HTML_MANAGER $REQUIREJS"

if [ -f "$DEST/embed-amd.js" ] && [ -f "$DEST/require.js" ] && compgen -G "$DEST/*.woff2" >/dev/null &&
  [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "error: npm is needed to fetch the widget JS" >&2; exit 1; }

echo "fetching $WANT into $DEST ..."
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# `npm pack` downloads only the two tarballs: both files are self-contained bundles, so none of
# the packages' dependencies is needed.
(cd "$TMP" && npm pack --silent "$HTML_MANAGER" "$REQUIREJS" >/dev/null)
tar -xzf "$TMP"/jupyter-widgets-html-manager-*.tgz -C "$TMP" --wildcards \
  package/dist/embed-amd.js 'package/dist/*.woff2'
tar -xzf "$TMP"/requirejs-*.tgz -C "$TMP" package/require.js
cp "$TMP"/package/dist/embed-amd.js "$TMP"/package/dist/*.woff2 "$TMP"/package/require.js "$DEST/"
echo "$WANT" >"$STAMP"
