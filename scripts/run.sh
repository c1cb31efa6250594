#!/usr/bin/env bash
# `make run`: install if needed, migrate, load demo data, then serve the site and run a
# Celery worker until Ctrl-C / SIGTERM, which stops both.
#
# With no DATABASE_URL / CELERY_BROKER_URL this is the embedded default: SQLite and the
# filesystem broker under var/, plus a demo staff user (demo / demo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/venv.sh
export PATH="$PWD/.venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/.venv"
export PYTHONUNBUFFERED=1

host=127.0.0.1
port="${PORT:-8000}"
base="http://$host:$port"

echo "==> migrating the database"
python manage.py migrate --noinput
if [ -z "${DATABASE_URL:-}" ]; then
  python manage.py rawr demo --staff-user
else
  python manage.py rawr demo
fi

source scripts/supervise.sh
# --insecure serves static files (admin, Swagger UI) with DEBUG off.
start_child web python manage.py runserver "$host:$port" --noreload --insecure
start_child worker celery -A rawr_site worker --loglevel=INFO
server="${pids[0]}"

ready=0
for _ in $(seq 1 240); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "error: the web server exited (is port $port in use? set PORT)" >&2
    stop 1
  fi
  if python - "$base/healthz" <<'PY' 2>/dev/null; then
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
PY
    ready=1
    break
  fi
  sleep 0.5
done
if ((ready)); then
  cat <<BANNER

  RAWR HQ is running (Ctrl-C stops the server and the worker)
    health       $base/healthz
    admin        $base/admin/
    API docs     $base/api/docs/
BANNER
  if [ -z "${DATABASE_URL:-}" ]; then
    echo "    staff login  demo / demo"
  fi
  echo
else
  echo "warning: $base/healthz did not answer 200 within 120 s" >&2
fi

# Whichever child exits first takes the other one down with it.
supervise
