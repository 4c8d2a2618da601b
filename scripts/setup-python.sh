#!/usr/bin/env bash
# Creates .venv/ from python/requirements.lock (exact versions, installed with --no-deps so the
# environment holds exactly the locked set), for everything Python in the repository: training,
# the exporter (`amdm export`), the reference checks and the Python tests. Idempotent: a .venv
# whose stamp matches the lock file's hash is left as it is.
#   npm run setup:python            # or: bash scripts/setup-python.sh
#   PYTHON=python3.11 npm run setup:python
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LOCK=python/requirements.lock
VENV=.venv
STAMP=$VENV/.amdm-lock.sha256

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup:python: no '$PYTHON' on PATH; install Python 3.9-3.12 or set PYTHON=/path/to/python3" >&2
  exit 1
fi
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$version" in
  3.9|3.10|3.11|3.12) ;;
  *) echo "setup:python: $PYTHON is Python $version; the locked wheels need Python 3.9-3.12 (set PYTHON=...)" >&2; exit 1 ;;
esac

want=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c 'import torch, diffusers, onnx' 2>/dev/null; then
  echo "setup:python: $VENV is up to date with $LOCK"
  exit 0
fi

start=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-deps --requirement "$LOCK"
"$VENV/bin/python" -m pip check
echo "$want" > "$STAMP"
echo "setup:python: $VENV ready ($("$VENV/bin/python" -c 'import torch, diffusers; print("torch", torch.__version__, "diffusers", diffusers.__version__)')) in $(( $(date +%s) - start )) s"
