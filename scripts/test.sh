#!/usr/bin/env bash
# `make test` (and CI): lint, import contracts, generated-file checks, then the whole pytest suite (e2e
# included) on PostgreSQL and a real broker (Redis unless CELERY_BROKER_URL says otherwise).
# Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/venv.sh
export PATH="$PWD/.venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/.venv"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rawr}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
# This session's own queue: a worker of another suite or of `make run` on the same broker
# never takes these tests' messages (tests/workers.py starts workers on it).
export RAWR_CELERY_QUEUE="${RAWR_CELERY_QUEUE:-rawr-test-$(date +%s)-$$}"

scripts/services.sh

node_dir=tests/e2e/node
if [ -f "$node_dir/package.json" ]; then
  lock="$node_dir/package-lock.json"
  stamp="$node_dir/node_modules/.rawr-installed"
  wanted="$(cat "$node_dir/package.json" "$lock" 2>/dev/null | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    echo "==> installing Node packages in $node_dir"
    if [ -f "$lock" ]; then
      (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
    wanted="$(cat "$node_dir/package.json" "$lock" 2>/dev/null | sha256sum | cut -d' ' -f1)"
    echo "$wanted" >"$stamp"
  fi
fi
scripts/browser.sh

step() {
  echo "==> $*"
  "$@"
}

step ruff check .
step lint-imports --no-cache
step python manage.py rawr manifest --check
step python manage.py rawr schema --check
step python manage.py makemigrations --check --dry-run
step python -m pytest "$@"
