# Sourced by the install scripts (run from the checkout's root): the per-user cache they fill,
# outside any checkout, so a second clone on the same machine only verifies what is there.
# Same rule as nlsql_jupyter/cache.py: $NLSQL_CACHE_DIR, else $XDG_CACHE_HOME/nlsql-jupyter,
# else ~/.cache/nlsql-jupyter.
NLSQL_CACHE=${NLSQL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nlsql-jupyter}

# adopt_legacy NAME: when NAME (a file or directory) is missing from the cache but this checkout's
# .cache/ has it (where the scripts kept it before), link it over (copy across file systems)
# instead of fetching or building it again. The caller verifies it as usual.
adopt_legacy() {
  local from=".cache/$1" to="$NLSQL_CACHE/$1"
  if [ -e "$to" ] || [ ! -e "$from" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$to")"
  rm -rf "$to.adopting"
  cp -al "$from" "$to.adopting" 2>/dev/null || cp -a "$from" "$to.adopting"
  mv "$to.adopting" "$to"
}
