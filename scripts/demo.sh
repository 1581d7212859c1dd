#!/usr/bin/env bash
# The README's demo command: makes a virtualenv, installs raftoral, runs `raftoral demo`.
# Extra arguments are passed to `raftoral demo` (see `raftoral demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${RAFTORAL_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .
exec "$VENV/bin/raftoral" demo "$@"
