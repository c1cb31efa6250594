# Sourced by scripts/run.sh (`make run`) and scripts/serve.sh (`make serve`): the children
# they start (web server, Celery workers, scheduler), stopped together.
#
#   start_child NAME command args...   start in its own process group, remember it
#   supervise                          wait; the first child to exit stops all the others
#
# Ctrl-C / SIGTERM stop every child once, in order: TERM (a warm Celery shutdown finishes
# the tasks in hand, gunicorn the requests), up to 30 s, then KILL of each process group
# (which reaches pool children too). Exit status 130 / 143, or the child's.

pids=()
names=()

stop() {
  local code="$1"
  trap - INT TERM
  echo "==> stopping ${names[*]}"
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    local alive=0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  echo "==> stopped"
  exit "$code"
}
trap 'stop 130' INT
trap 'stop 143' TERM

start_child() {
  local name="$1"
  shift
  # Its own process group: a terminal's Ctrl-C reaches only this script, which stops the
  # children once instead of each of them reacting on its own.
  set -m
  "$@" &
  pids+=("$!")
  names+=("$name")
  set +m
}

supervise() {
  set +e
  wait -n "${pids[@]}"
  local code=$?
  set -e
  echo "error: a child process exited (status $code)" >&2
  stop "$code"
}
