#!/usr/bin/env bash
# The BigQuery emulator (PyPI's bqemulator, which needs Python >= 3.11) in its own venv, with the
# DuckDB extensions it loads copied where DuckDB looks for them, so that it never downloads them.
# Venv: ${TFXD_BQEMULATOR:-~/.cache/tfxd/bqemulator}; DuckDB's home is its home/ folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${TFXD_BQEMULATOR:-$HOME/.cache/tfxd/bqemulator}"
stamp="$venv/.tfxd-stamp"
want="$(sha256sum "$here/bqemulator-requirements.txt" "$0" | sha256sum | cut -c1-16)"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
python=""
for candidate in python3.11 python3.12 python3.13; do
  if command -v "$candidate" >/dev/null && "$candidate" -c "import venv" 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "the BigQuery tests need Python >= 3.11 with venv (apt-get install python3.11-venv)" >&2
  exit 0
fi
echo "installing the BigQuery emulator into $venv" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
# (pip's warnings about this machine's index configuration go to the log, not the console)
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/bqemulator-requirements.txt" \
  > "$venv/install.log" 2>&1 || { cat "$venv/install.log" >&2; exit 1; }
version="$("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
extensions="$venv/home/.duckdb/extensions/v$version/linux_amd64"
mkdir -p "$extensions"
cp "$venv"/lib/python3*/site-packages/duckdb_extension_*/extensions/v"$version"/*.duckdb_extension \
  "$extensions/"
echo "$want" > "$stamp"
