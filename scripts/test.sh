#!/usr/bin/env bash
# Fresh machine → lint, layer contracts and the whole test suite (slow end-to-end tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/test-servers.sh
.venv/bin/ruff check tfxd tests bench pipelines
.venv/bin/lint-imports
# Two lanes on two workers: tests marked heavy one at a time on one, the rest beside them.
.venv/bin/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder "$@"
