#!/usr/bin/env bash
# The database servers the tests start on 127.0.0.1 (PostgreSQL, MariaDB), from Debian's packages.
# Installs what is missing when run as root with apt-get; otherwise says what to install.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} for the tests" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "the SQL tests need: ${missing[*]} (apt-get install ${missing[*]})" >&2
fi
