#!/usr/bin/env bash
# The README's test command: makes a virtualenv, installs raftoral with its dev extras,
# then runs ruff, mypy and pytest. Works on a fresh clone with nothing installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${RAFTORAL_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
echo "== ruff"
"$VENV/bin/ruff" check .
echo "== mypy"
"$VENV/bin/mypy" raftoral actors
echo "== pytest"
"$VENV/bin/pytest" -q "$@"
