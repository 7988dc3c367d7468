#!/usr/bin/env bash
# Fresh machine → the penguin example run locally (SQLite MLMD, Beam DirectRunner).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/tfxd example penguin
.venv/bin/tfxd run pipelines/penguin/pipeline.yaml "$@"
