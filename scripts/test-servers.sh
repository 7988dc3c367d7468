#!/usr/bin/env bash
# The servers the tests start on 127.0.0.1: PostgreSQL, MariaDB and the Pub/Sub emulator (with
# the Java it runs on) from Debian's packages (installed when missing, as root with apt-get;
# otherwise it says what to install), and the BigQuery emulator in its own Python 3.11 venv
# (scripts/bqemulator.sh). The S3 server (moto) and the Kafka broker come with .venv.
set -euo pipefail
bash "$(dirname "$0")/bqemulator.sh"
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server)
[ -x /usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator ] \
  || missing+=(google-cloud-cli-pubsub-emulator)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} for the tests" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "the server tests need: ${missing[*]} (apt-get install ${missing[*]})" >&2
fi
