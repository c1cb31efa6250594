#!/usr/bin/env bash
# `make test` (and CI): lint, import contracts, generated-file checks, then the whole pytest suite (e2e
# included) on PostgreSQL and a real broker (Redis unless CELERY_BROKER_URL says otherwise),
# then the end-to-end runtime tests (marker `broker`) again on every other broker named in
# RAWR_TEST_BROKERS (default "redis,amqp": RabbitMQ in a virtual host of the session's own).
# Arguments are passed to pytest; with arguments the other brokers run only when
# RAWR_TEST_BROKERS is set.
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
# The test process serves live servers and runs threaded tests (racing requests, two
# schedulers) besides its own connection: a pool sized for that, not for one web process.
export RAWR_DB_POOL_MAX="${RAWR_DB_POOL_MAX:-16}"

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

# --- the other brokers -------------------------------------------------------------------
broker_kind() {
  case "$1" in
    redis://* | rediss://*) echo redis ;;
    amqp://* | pyamqp://* | amqps://*) echo amqp ;;
    *) echo other ;;
  esac
}
other_brokers=()
if [ $# -eq 0 ] || [ -n "${RAWR_TEST_BROKERS:-}" ]; then
  IFS=, read -r -a wanted <<<"${RAWR_TEST_BROKERS:-redis,amqp}"
  for kind in "${wanted[@]}"; do
    [ "$kind" = "$(broker_kind "$CELERY_BROKER_URL")" ] && continue
    case "$kind" in
      redis) other_brokers+=("${RAWR_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}") ;;
      # The session's own vhost: its queues (declared with x-max-priority) and whatever a
      # killed worker left go away with it.
      amqp) other_brokers+=("${RAWR_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}/$RAWR_CELERY_QUEUE") ;;
      *) echo "error: RAWR_TEST_BROKERS: unknown broker '$kind' (redis, amqp)" >&2 && exit 2 ;;
    esac
  done
fi
drop_vhosts() {
  for url in "${other_brokers[@]}"; do
    if [ "$(broker_kind "$url")" = amqp ] && command -v rabbitmqctl >/dev/null; then
      rabbitmqctl -q delete_vhost "${url##*/}" >/dev/null 2>&1 || true
    fi
  done
}
trap drop_vhosts EXIT
for url in "${other_brokers[@]}"; do
  CELERY_BROKER_URL="$url" scripts/services.sh
done

status=0
step python -m pytest "$@" || status=$?
for url in "${other_brokers[@]}"; do
  echo "==> the runtime end-to-end tests again, on $(broker_kind "$url") (${url##*@})"
  CELERY_BROKER_URL="$url" RAWR_CELERY_QUEUE="$RAWR_CELERY_QUEUE-$(broker_kind "$url")" \
    python -m pytest -m broker -p no:cacheprovider "$@" || status=$?
done
exit "$status"
