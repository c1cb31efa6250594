#!/usr/bin/env bash
# `make bench`: the runtime vs DBOS Transact vs raw Celery, one table (bench/README.md).
#
# Installs `.[dev,bench]` into .venv when pyproject.toml changed since the last bench
# install, creates the bench's own databases (rawr_bench_engine, rawr_bench_dbos) on the
# local Postgres and uses its own Redis db (11); drops the databases and kills every
# process it started on exit. BENCH_QUICK=1 for a ~1-minute smoke run; arguments go to
# bench/compare.py (e.g. --only starts,steps).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/venv.sh
stamp=.venv/.rawr-installed-bench
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ] || ! .venv/bin/python -c "import dbos" 2>/dev/null; then
  echo "==> installing the project with the bench extra into .venv (pip install -e \".[dev,bench]\")"
  .venv/bin/python -m pip install --disable-pip-version-check --quiet -e ".[dev,bench]"
  echo "$wanted" >"$stamp"
fi

server="${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
export DATABASE_URL="$server/rawr_bench_engine"
export BENCH_DBOS_DATABASE_URL="${server/postgres:\/\//postgresql://}/rawr_bench_dbos"
export CELERY_BROKER_URL="${BENCH_REDIS:-redis://127.0.0.1:6379/11}"
export RAWR_WORKFLOW_MODULES=bench.flows
export BENCH_PIDFILE
BENCH_PIDFILE="$(mktemp -t rawr-bench-pids.XXXXXX)"
unset TEST_DATABASE_NAME RAWR_WORKFLOWS_DISPATCH RAWR_CELERY_QUEUE

databases=(rawr_bench_engine rawr_bench_dbos)
drop_databases() {
  for db in "${databases[@]}"; do
    psql "$server/postgres" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
  done
}
driver=""
cleanup() {
  # compare.py stops what it started on SIGTERM; the pid file catches what a killed run
  # left behind (workers and gunicorn run in process groups of their own).
  if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
    kill -TERM "$driver" 2>/dev/null || true
    wait "$driver" 2>/dev/null || true
  fi
  while read -r pid; do
    [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
  done <"$BENCH_PIDFILE"
  rm -f "$BENCH_PIDFILE"
  drop_databases
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_databases
for db in "${databases[@]}"; do
  psql "$server/postgres" -qc "create database \"$db\""
done
.venv/bin/python manage.py migrate -v0
# In the background, so a signal to this script runs the trap at once (bash defers traps
# until a foreground command returns).
.venv/bin/python bench/compare.py "$@" &
driver=$!
wait "$driver"
