#!/usr/bin/env bash
# The serving environment .venv-serve (Python 3.10): KServe's Python ModelServer and TensorFlow,
# pinned in scripts/serving-requirements.txt. `tfxd serve` runs its server there. Re-running is
# cheap: nothing is reinstalled while the pins are unchanged. Installs with uv (~2 GB, shared with
# .venv's download cache), pip when uv fails.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv-serve/.tfxd-installed
want=$(cat scripts/serving-requirements.txt scripts/serving-env.sh | sha256sum | cut -d' ' -f1)
[ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && exit 0
py=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
[ -x .venv-serve/bin/python ] || "$py" -m venv .venv-serve
extra=$(.venv/bin/pip config get global.extra-index-url 2>/dev/null | tr '\n' ' ' || true)
links=${PIP_FIND_LINKS:-$(.venv/bin/pip config get global.find-links 2>/dev/null || true)}
if [ -x .venv/bin/uv ] && UV_EXTRA_INDEX_URL="${extra% }" UV_FIND_LINKS="$links" \
    UV_INDEX_STRATEGY=unsafe-best-match .venv/bin/uv pip install --quiet --compile-bytecode \
    --python .venv-serve/bin/python -r scripts/serving-requirements.txt; then
  :
else
  .venv-serve/bin/pip install --quiet -r scripts/serving-requirements.txt 2>&1 \
    | grep -v "^WARNING: Location" || true
fi
.venv-serve/bin/python -c 'import kserve, tensorflow' >/dev/null 2>&1 \
  || { echo "the serving environment did not install" >&2; exit 1; }
echo "$want" > "$stamp"
