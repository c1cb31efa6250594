#!/usr/bin/env bash
# Make the servers behind DATABASE_URL and CELERY_BROKER_URL answer, and create the database.
#
# Only local servers (127.0.0.1 / localhost) are started, with the machine's own service
# commands (root needed); a remote one is only checked. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${DATABASE_URL:?DATABASE_URL must be set}"
: "${CELERY_BROKER_URL:?CELERY_BROKER_URL must be set}"

# Prints "host port" of a URL like scheme://user:pass@host:port/path.
host_port() {
  local rest="${1#*://}"
  rest="${rest%%/*}"
  rest="${rest##*@}"
  local host="${rest%%:*}" port=""
  [ "$rest" != "$host" ] && port="${rest##*:}"
  echo "${host:-127.0.0.1} ${port:-$2}"
}

is_local() { [ "$1" = 127.0.0.1 ] || [ "$1" = localhost ]; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for NAME COMMAND...: up to 60 s.
wait_for() {
  local name="$1"
  shift
  for _ in $(seq 1 120); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  echo "error: $name did not come up" >&2
  exit 1
}

# start NAME COMMAND...: runs a service's start command, which needs root.
start() {
  local name="$1"
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: $name is not running; start it (as root) with: $*" >&2
    exit 1
  fi
  echo "==> starting $name"
  "$@"
}

# --- PostgreSQL ------------------------------------------------------------------------
read -r pg_host pg_port <<<"$(host_port "$DATABASE_URL" 5432)"
if ! pg_isready -q -h "$pg_host" -p "$pg_port"; then
  if ! is_local "$pg_host"; then
    echo "error: PostgreSQL at $pg_host:$pg_port does not answer" >&2
    exit 1
  fi
  # shellcheck disable=SC2046  # one word per installed cluster version
  start PostgreSQL pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  wait_for PostgreSQL pg_isready -q -h "$pg_host" -p "$pg_port"
fi

db_url="${DATABASE_URL%%\?*}"
db_name="${db_url##*/}"
maintenance_url="${db_url%/*}/postgres"
if [ -z "$(psql "$maintenance_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'")" ]; then
  echo "==> creating database $db_name"
  psql "$maintenance_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$db_name\""
fi

# --- the broker ------------------------------------------------------------------------
case "$CELERY_BROKER_URL" in
  redis://*)
    read -r redis_host redis_port <<<"$(host_port "$CELERY_BROKER_URL" 6379)"
    if [ "$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" != PONG ]; then
      is_local "$redis_host" || { echo "error: Redis at $redis_host:$redis_port does not answer" >&2; exit 1; }
      start Redis redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" \
        --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
      wait_for Redis redis-cli -h "$redis_host" -p "$redis_port" ping
    fi
    ;;
  amqp://* | pyamqp://*)
    read -r amqp_host amqp_port <<<"$(host_port "$CELERY_BROKER_URL" 5672)"
    if ! tcp_open "$amqp_host" "$amqp_port"; then
      is_local "$amqp_host" || { echo "error: RabbitMQ at $amqp_host:$amqp_port does not answer" >&2; exit 1; }
      start RabbitMQ rabbitmq-server -detached
      wait_for RabbitMQ tcp_open "$amqp_host" "$amqp_port"
    fi
    # A virtual host named in the URL (amqp://user:pass@host:port/VHOST) is created on a
    # local server, with all permissions for the URL's user (make test: one per session).
    amqp_rest="${CELERY_BROKER_URL#*://}"
    amqp_vhost=""
    [ "$amqp_rest" != "${amqp_rest#*/}" ] && amqp_vhost="${amqp_rest#*/}"
    amqp_vhost="${amqp_vhost%%\?*}"
    if [ -n "$amqp_vhost" ] && is_local "$amqp_host"; then
      amqp_user="guest"
      case "$amqp_rest" in *@*) amqp_user="${amqp_rest%%@*}" && amqp_user="${amqp_user%%:*}" ;; esac
      # The broker accepts connections a moment before rabbitmqctl can talk to it.
      wait_for "RabbitMQ (rabbitmqctl)" rabbitmqctl -q status
      if ! rabbitmqctl -q list_vhosts name | grep -qxF "$amqp_vhost"; then
        echo "==> creating RabbitMQ virtual host $amqp_vhost"
        rabbitmqctl -q add_vhost "$amqp_vhost"
      fi
      rabbitmqctl -q set_permissions -p "$amqp_vhost" "$amqp_user" ".*" ".*" ".*"
    fi
    ;;
  *)
    echo "==> broker $CELERY_BROKER_URL: not checked"
    ;;
esac
