#!/usr/bin/env bash
# Quick start, command 1 of 2: set up ./.venv, load the demo data into ./.sepadan, build the
# indexes, and print a shortlist and recommendations with reasons. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"sepadan needs Python 3.11 or newer; this is {sys.version.split()[0]}")
PY
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "installing sepadan and its dependencies into .venv (about 2 minutes the first time)"
bash .ci/install-deps .venv test   # CPU torch first, then the rest pinned by constraints.txt
export HF_HUB_OFFLINE=1
.venv/bin/sepadan demo "$@"
