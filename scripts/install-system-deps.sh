#!/usr/bin/env bash
# Install the Debian packages the tests run for real (Redis, MariaDB, PostgreSQL, Chromium), when
# missing.
# Idempotent and quiet when everything is there already.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v mariadbd >/dev/null || need+=(mariadb-server)
# PostgreSQL's server binaries live in /usr/lib/postgresql/VERSION/bin, off the PATH.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null ||
  need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
# The font static charts are laid out with (nlsql_jupyter/static_chart.py), so the browser
# tests see the labels at the width they were measured at.
[ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || need+=(fonts-liberation)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
echo "installing ${need[*]} ..."
$sudo apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
