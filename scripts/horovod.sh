#!/usr/bin/env bash
# Horovod 0.28.1 (HorovodTrainer) into .venv: built from source against the installed TensorFlow
# with Gloo (no MPI), once; the wheel is cached in $TFXD_WHEEL_CACHE (~2-4 min to build on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.28.1
cache=${TFXD_WHEEL_CACHE:-$HOME/.cache/tfxd/wheels}
tf=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("tensorflow"))')
wheel_dir="$cache/horovod-$version-tf$tf"
if .venv/bin/python -c "import horovod.tensorflow, importlib.metadata as m; assert m.version('horovod') == '$version'" 2>/dev/null; then
  exit 0
fi
if ! ls "$wheel_dir"/horovod-*.whl >/dev/null 2>&1; then
  if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq cmake g++ >/dev/null
    else
      echo "building Horovod needs cmake and g++: install them and re-run" >&2; exit 1
    fi
  fi
  echo "building Horovod $version for TensorFlow $tf (once; cached in $wheel_dir)" >&2
  mkdir -p "$wheel_dir"
  HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 \
  HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 MAKEFLAGS="-j$(nproc)" \
    .venv/bin/pip wheel --quiet --no-deps --no-build-isolation -w "$wheel_dir" "horovod==$version"
fi
.venv/bin/pip install --quiet -c constraints.txt "$wheel_dir"/horovod-*.whl
