#!/usr/bin/env bash
# Runs the Python tests (pytest, python/tests/) in .venv. Without .venv they are skipped with the
# reason, except under CI, where that is a failure. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  if [ -n "${CI:-}" ]; then
    echo "test:python: .venv is missing; run 'npm run setup:python' first (required under CI)" >&2
    exit 1
  fi
  echo "test:python: skipped: .venv is missing (run 'npm run setup:python' to create it)"
  exit 0
fi
# No model hub is reachable and nothing may be downloaded: keep the Hugging Face libraries offline
# and their caches inside the environment.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME="$PWD/.venv/hf-home" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m pytest -q python/tests "$@"
