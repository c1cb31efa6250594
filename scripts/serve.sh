#!/usr/bin/env bash
# `make serve`: the production profile on one machine. Migrate, collect static files, then
# run gunicorn (rawr_site/gunicorn_conf.py) + Celery worker(s) + the standalone scheduler
# against DATABASE_URL and CELERY_BROKER_URL, until Ctrl-C /
# SIGTERM, which stops them all (warm: requests and tasks in hand finish, 30 s at most).
# Whichever child exits first takes the others down with it (a supervisor restarts us).
#
# Environment (README "Production profile"): DATABASE_URL, CELERY_BROKER_URL (required);
# RAWR_ENV=production with SECRET_KEY and ALLOWED_HOSTS for a real deployment; PORT or
# RAWR_WEB_BIND, WEB_CONCURRENCY, RAWR_WEB_THREADS (gunicorn); RAWR_WORKERS (worker
# processes, default 1), RAWR_WORKER_CONCURRENCY (pool size each, default 4),
# RAWR_WORKER_QUEUES (-Q list, default: the default queue); RAWR_LOG_FORMAT=json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${DATABASE_URL:-}" ] || [ -z "${CELERY_BROKER_URL:-}" ]; then
  echo "error: make serve needs DATABASE_URL (Postgres) and CELERY_BROKER_URL (Redis or RabbitMQ);" >&2
  echo "       for the embedded SQLite + filesystem broker use make run" >&2
  exit 2
fi

scripts/venv.sh
export PATH="$PWD/.venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/.venv"
export PYTHONUNBUFFERED=1

port="${PORT:-8000}"
base="http://127.0.0.1:$port"
workers="${RAWR_WORKERS:-1}"
concurrency="${RAWR_WORKER_CONCURRENCY:-4}"
queue_args=()
[ -n "${RAWR_WORKER_QUEUES:-}" ] && queue_args=(--queues "$RAWR_WORKER_QUEUES")
# JSON logs: no ASCII-art start-up banner from Celery between the JSON lines.
celery_args=()
[ "${RAWR_LOG_FORMAT:-}" = json ] && celery_args=(--quiet)

# migrate runs the system checks first (declarations refused at start-up stop us here).
echo "==> migrating the database"
python manage.py migrate --noinput
echo "==> collecting static files"
python manage.py collectstatic --noinput --verbosity 1

source scripts/supervise.sh
start_child web gunicorn -c rawr_site/gunicorn_conf.py rawr_site.wsgi:application
for i in $(seq 1 "$workers"); do
  # Each worker also runs the sweeper (and the scheduler, where there is one) on a timer.
  start_child "worker$i" celery "${celery_args[@]}" -A rawr_site worker --loglevel=INFO \
    --hostname="worker$i@%h" --concurrency="$concurrency" "${queue_args[@]}"
done
# The standalone scheduler: ticks fire on time even while every worker is busy.
start_child scheduler python manage.py rawr scheduler

ready=0
for _ in $(seq 1 120); do
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "error: gunicorn exited (is port $port in use? set PORT)" >&2
    stop 1
  fi
  if curl -fsS -o /dev/null --max-time 3 "$base/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
if ((ready)); then
  cat <<BANNER

  RAWR HQ is serving (${names[*]}; Ctrl-C stops them all)
    liveness     $base/livez
    readiness    $base/readyz
    admin        $base/admin/
    API docs     $base/api/docs/

BANNER
else
  echo "warning: $base/readyz did not answer 200 within 60 s" >&2
fi

supervise
