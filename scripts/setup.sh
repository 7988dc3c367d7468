#!/usr/bin/env bash
# Create .venv (Python 3.10) and install tfxd with everything the tests need, under constraints.txt.
# Re-running is cheap: nothing is reinstalled while setup.py and constraints.txt are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.10 \
      "$(command -v pyenv >/dev/null && echo "$(pyenv root)/versions/3.10"*/bin/python3.10)" \
      /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$candidate" ] || continue
    for exe in $candidate; do
      if "$exe" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
        echo "$exe"; return 0
      fi
    done
  done
  return 1
}

# uv resolves and installs the same pins as pip in ~1 min instead of ~4 (measured 2026-12-02, 2 cores);
# pip's configured extra indexes and find-links carry over. Any failure falls back to pip.
# --compile-bytecode: uv writes no .pyc by default, and where PYTHONDONTWRITEBYTECODE is set nothing
# writes them later, so every process would compile TensorFlow, TFX and Beam from source again
# (~19 s of a 70 s one-node run, measured 2026-12-03); compiling once at install costs ~45 s.
install_with_uv() {
  .venv/bin/pip install --quiet "uv==0.13.9" >/dev/null 2>&1 || return 1
  local extra links
  extra=$(.venv/bin/pip config get global.extra-index-url 2>/dev/null | tr '\n' ' ' || true)
  links=${PIP_FIND_LINKS:-$(.venv/bin/pip config get global.find-links 2>/dev/null || true)}
  UV_EXTRA_INDEX_URL="${extra% }" UV_FIND_LINKS="$links" UV_INDEX_STRATEGY=unsafe-best-match \
    .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -c constraints.txt -e '.[test]'
}

if [ ! -x .venv/bin/python ]; then
  py=$(find_python) || { echo "tfxd needs Python 3.10 (TFX 1.16): install it, or set PYTHON=/path/to/python3.10" >&2; exit 1; }
  "$py" -m venv .venv
fi
stamp=.venv/.tfxd-installed
want=$(cat setup.py constraints.txt scripts/setup.sh scripts/horovod.sh | sha256sum | cut -d' ' -f1)
serving=""
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  install_with_uv || .venv/bin/pip install --quiet -c constraints.txt -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
  # Test-only: the kfp-kubernetes platform-spec proto, to parse compiled platform specs strictly.
  # Its pins ask for kfp>=2.6 (protobuf 4); the proto module itself loads with kfp 2.5/protobuf 3.
  .venv/bin/pip install --quiet --no-deps kfp-kubernetes==1.2.0 2>&1 | grep -v "^WARNING: Location" || true
  # tfxd serve's model server (KServe), an environment of its own: installed (mostly downloads and
  # links from uv's cache) while Horovod compiles.
  bash scripts/serving-env.sh & serving=$!
  bash scripts/horovod.sh
  .venv/bin/python -c 'import tfx, tfxd, airflow, horovod.tensorflow' >/dev/null 2>&1 || { echo "install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
if [ -n "$serving" ]; then wait "$serving"; else bash scripts/serving-env.sh; fi
# tfxd itself is installed editable, so its own modules get no .pyc from the install: compile them
# (stale ones are ignored by Python, and this takes under a second when nothing changed).
.venv/bin/python -m compileall -q tfxd >/dev/null
