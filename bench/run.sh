#!/usr/bin/env bash
# The durable-runtime bench on Postgres + Redis, on a database and a Redis db of its own
# (created and migrated if needed). Arguments go to bench/workflow_overhead.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rawr_bench}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/7}"

db="${DATABASE_URL##*/}"
server="${DATABASE_URL%/*}"
if ! psql "$server/postgres" -tAc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
  psql "$server/postgres" -qc "create database \"$db\""
fi
.venv/bin/python manage.py migrate -v0
exec .venv/bin/python bench/workflow_overhead.py "$@"
