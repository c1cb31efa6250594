#!/usr/bin/env bash
# Make sure .venv exists and holds the project (`pip install -e ".[dev]"`).
#
# The install is skipped while pyproject.toml is unchanged since the last successful one
# (its hash is kept in .venv/.rawr-installed). PYTHON picks the interpreter for a new venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stamp=.venv/.rawr-installed

if [ ! -x .venv/bin/python ]; then
  python="${PYTHON:-}"
  if [ -z "$python" ]; then
    for candidate in python3.11 python3.12 python3; do
      if command -v "$candidate" >/dev/null 2>&1; then
        python="$candidate"
        break
      fi
    done
  fi
  if [ -z "$python" ]; then
    echo "error: no python3.11 found; set PYTHON=/path/to/python3.11" >&2
    exit 1
  fi
  echo "==> creating .venv with $("$python" --version 2>&1)"
  rm -rf .venv
  "$python" -m venv .venv
fi

wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "==> installing the project into .venv (pip install -e \".[dev]\")"
  .venv/bin/python -m pip install --disable-pip-version-check --quiet -e ".[dev]"
  echo "$wanted" >"$stamp"
fi
