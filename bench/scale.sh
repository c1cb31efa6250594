#!/usr/bin/env bash
# bench/scale.sh: the scale-out drill (bench/scale.py, bench/README.md "Scale-out drill").
#
# Creates the drill's own database (rawr_bench_scale) on the local Postgres, migrates it,
# runs bench/scale.py (which starts its own redis-server on a free port and three Celery
# workers), then drops the database and kills every process the drill started, whatever
# way it ends (normal, error, Ctrl-C, SIGTERM). SCALE_RUNS=1000 for a quick check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/venv.sh
command -v redis-server >/dev/null || { echo "scale: redis-server is not installed" >&2; exit 1; }

server="${SCALE_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
database="${SCALE_DATABASE:-rawr_bench_scale}"
export DATABASE_URL="$server/$database"
export SCALE_PIDFILE
SCALE_PIDFILE="$(mktemp -t rawr-scale-pids.XXXXXX)"
# The drill's broker is its own redis-server: never the shared one.
unset TEST_DATABASE_NAME RAWR_WORKFLOWS_DISPATCH RAWR_CELERY_QUEUE CELERY_BROKER_URL RAWR_QUEUES

drop_database() {
  psql "$server/postgres" -qc "drop database if exists \"$database\" with (force)" >/dev/null 2>&1 || true
}
driver=""
cleanup() {
  # scale.py stops what it started on SIGTERM; the pid file catches what a killed drill
  # left behind (redis-server and each worker run in process groups of their own).
  if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
    kill -TERM "$driver" 2>/dev/null || true
    wait "$driver" 2>/dev/null || true
  fi
  while read -r pid; do
    [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
  done <"$SCALE_PIDFILE"
  rm -f "$SCALE_PIDFILE"
  drop_database
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_database
psql "$server/postgres" -qc "create database \"$database\""
.venv/bin/python manage.py migrate -v0
# In the background, so a signal to this script runs the trap at once (bash defers traps
# until a foreground command returns).
.venv/bin/python bench/scale.py "$@" &
driver=$!
wait "$driver"
