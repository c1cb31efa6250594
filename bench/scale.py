"""The scale-out drill (issue 11): 3 workers, 10,000 mixed runs, a SIGKILL and a broker restart.

Run it through ``bench/scale.sh``, which creates and drops the drill's own
database. This script starts and stops everything else it uses, each process in a process
group of its own, its pid written to ``SCALE_PIDFILE`` so the shell's trap can kill what
a killed drill left behind:

* its own ``redis-server`` on a free port (no persistence: a restart empties the broker,
  the harshest case: every queued message is gone and only the runtime's sweeper can
  send them again);
* three Celery workers with different node names and queues (``scale-a``: the default
  queue + ``urgent``; ``scale-b``: the default queue; ``scale-c``: ``bulk``), each
  ``--pool=prefork --concurrency=SCALE_CONCURRENCY`` (2), loading the drill's durable
  functions (``bench/scale_flows.py``) through ``RAWR_WORKFLOW_MODULES``.

Then it triggers ``SCALE_RUNS`` (10,000) runs of seven functions (queues, priorities 0-9,
two throttles) from ``SCALE_TRIGGER_THREADS`` (3) threads in a shuffled order, and while
they execute: when ``SCALE_KILL_AT`` (30 %) of them have completed it SIGKILLs worker
B's whole process group (a supervisor starts a replacement, ``scale-b2``, 5 s later); at
``SCALE_BROKER_RESTART_AT`` (60 %) it stops the redis-server and starts it again on the
same port after ``SCALE_BROKER_DOWN_SECONDS`` (3). It waits for every run to finish (at
most ``SCALE_TIMEOUT`` seconds, 480) and prints the table: runs/s, trigger -> start delay
p50/p99 by function and by priority, and the checks (none lost, no step executed twice
except where a SIGKILL interrupted it, every throttle held).

The runtime's own settings apply unchanged unless set in the environment (lease 15 s,
sweep every 5 s, sweeper grace 30 s); the drill prints the values it ran with.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent

#: (function id, share of the runs, input). ``scale.sync`` gets a hot key (a quarter of
#: its runs) so its throttle binds; its other runs spread over 16 keys.
MIX: list[tuple[str, float, dict[str, Any]]] = [
    ("scale.ping", 0.30, {"steps": 1}),
    ("scale.report", 0.12, {"steps": 3, "sleep_ms": 30}),
    ("scale.vip", 0.10, {"steps": 2}),
    ("scale.sync", 0.12, {"steps": 2}),
    ("scale.alert", 0.10, {"steps": 1}),
    ("scale.export", 0.18, {"steps": 2, "sleep_ms": 10}),
    ("scale.webhook", 0.08, {"steps": 1}),
]
HOT_KEY = "acct-hot"
COLD_KEYS = [f"acct-{n:02d}" for n in range(16)]


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class Plan:
    runs: int = int(os.environ.get("SCALE_RUNS", "10000"))
    threads: int = int(os.environ.get("SCALE_TRIGGER_THREADS", "3"))
    concurrency: int = int(os.environ.get("SCALE_CONCURRENCY", "2"))
    kill_at: float = _env_float("SCALE_KILL_AT", 0.30)
    broker_restart_at: float = _env_float("SCALE_BROKER_RESTART_AT", 0.60)
    broker_down: float = _env_float("SCALE_BROKER_DOWN_SECONDS", 3)
    replace_after: float = _env_float("SCALE_REPLACE_AFTER_SECONDS", 5)
    timeout: float = _env_float("SCALE_TIMEOUT", 480)
    seed: int = int(os.environ.get("SCALE_SEED", "11"))


# -- processes ------------------------------------------------------------------------------
class Children:
    """Every process the drill starts, each in its own process group, in ``SCALE_PIDFILE``."""

    def __init__(self) -> None:
        self.pidfile = os.environ.get("SCALE_PIDFILE", "")
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        if self.pidfile:
            with open(self.pidfile, "a") as f:
                f.write(f"{proc.pid}\n")
        return proc

    @staticmethod
    def kill_group(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    @classmethod
    def stop(cls, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
        if proc.poll() is None:
            # To the main process only: a worker's warm shutdown lets its pool children
            # finish; SIGTERM to the whole group would kill them mid-task.
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        cls.kill_group(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """The drill's private ``redis-server`` (no persistence), stopped and started again."""

    def __init__(self, children: Children, logdir: Path) -> None:
        self.children, self.log = children, logdir / "redis-server.log"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
        ]
        self.proc = self.children.start(command, dict(os.environ), self.log)
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            Children.stop(self.proc, timeout=5)
        self.proc = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@dataclass
class Worker:
    name: str
    queues: list[str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    started: float = 0.0
    killed_at: float | None = None

    @property
    def node(self) -> str:
        return f"{self.name}@{socket.gethostname()}"


def start_worker(
    worker: Worker, children: Children, logdir: Path, env: dict[str, str], concurrency: int
) -> None:
    worker.log = logdir / f"{worker.name}.log"
    command = [
        *(sys.executable, "-m", "celery", "-A", "rawr_site", "worker", "--loglevel=INFO"),
        f"--hostname={worker.node}",
        f"--queues={','.join(worker.queues)}",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    worker.proc = children.start(command, env, worker.log)
    worker.started = time.time()


def wait_ready(workers: list[Worker], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for worker in workers:
        assert worker.proc is not None and worker.log is not None
        while f"{worker.node} ready." not in worker.log.read_text(errors="replace"):
            if worker.proc.poll() is not None:
                raise RuntimeError(f"worker {worker.name} exited:\n{worker.log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {worker.name} not ready:\n{worker.log.read_text()}")
            time.sleep(0.2)


# -- triggering -----------------------------------------------------------------------------
def build_plan(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(plan.seed)
    items: list[tuple[str, dict[str, Any]]] = []
    for function_id, share, work in MIX:
        count = round(plan.runs * share)
        for n in range(count):
            data = dict(work)
            if function_id == "scale.sync":
                data["key"] = HOT_KEY if n % 4 == 0 else rng.choice(COLD_KEYS)
            items.append((function_id, data))
    items = items[: plan.runs]
    while len(items) < plan.runs:
        items.append(("scale.ping", {"steps": 1}))
    rng.shuffle(items)
    return items


@dataclass
class Triggers:
    items: list[tuple[str, dict[str, Any]]]
    at: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    slow: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_index: int = 0
    began: float = 0.0
    ended: float = 0.0

    def take(self) -> tuple[str, dict[str, Any]] | None:
        with self.lock:
            if self.next_index >= len(self.items):
                return None
            self.next_index += 1
            return self.items[self.next_index - 1]

    def worker(self) -> None:
        from django.db import close_old_connections, connection

        from workflows import trigger

        try:
            while (item := self.take()) is not None:
                function_id, data = item
                began = time.time()
                try:
                    run = trigger(function_id, data, principal="scale-drill").run
                except Exception as exc:  # counted and shown: a refused trigger is a finding
                    with self.lock:
                        self.errors.append(f"{function_id}: {type(exc).__name__}: {exc}")
                    close_old_connections()
                    continue
                took = time.time() - began
                with self.lock:
                    self.at[run.pk] = began
                    if took > 1.0:
                        self.slow += 1
        finally:
            connection.close()

    def run(self, threads: int) -> list[threading.Thread]:
        self.began = time.time()
        started = [threading.Thread(target=self.worker, daemon=True) for _ in range(threads)]
        for thread in started:
            thread.start()
        return started


# -- the drill ------------------------------------------------------------------------------
@dataclass
class Timeline:
    began: float = field(default_factory=time.time)
    entries: list[tuple[float, str]] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.entries.append((time.time(), text))
        print(f"  t={time.time() - self.began:6.1f}s {text}", file=sys.stderr, flush=True)


def counts() -> Counter[str]:
    from django.db.models import Count

    from workflows.models import Run

    rows = (
        Run.objects.filter(function_id__startswith="scale.")
        .values("status")
        .annotate(n=Count("id"))
    )
    return Counter({row["status"]: row["n"] for row in rows})


FINISHED = ("completed", "failed", "cancelled", "skipped")


def drill(plan: Plan, children: Children, logdir: Path, redis: Redis) -> dict[str, Any]:
    timeline = Timeline()
    step_log = Path(os.environ["SCALE_STEP_LOG"])
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "rawr_site.settings",
    }
    for name in ("RAWR_WEB_THREADS", "RAWR_DB_POOL_MAX"):
        env.pop(name, None)
    default = os.environ.get("RAWR_CELERY_QUEUE", "celery")
    workers = {
        "a": Worker("scale-a", [default, "urgent"]),
        "b": Worker("scale-b", [default]),
        "c": Worker("scale-c", ["bulk"]),
    }
    for worker in workers.values():
        start_worker(worker, children, logdir, env, plan.concurrency)
    wait_ready(list(workers.values()))
    timeline.note(
        "3 workers ready: "
        + ", ".join(f"{w.name} -Q {','.join(w.queues)}" for w in workers.values())
    )

    triggers = Triggers(build_plan(plan))
    threads = triggers.run(plan.threads)
    timeline.note(f"triggering {plan.runs} runs from {plan.threads} threads")
    kill_at = int(plan.runs * plan.kill_at)
    restart_at = int(plan.runs * plan.broker_restart_at)
    killed: Worker | None = None
    replaced = broker_restarted = triggering = False
    broker_restarted_at: float | None = None
    triggering = True
    last_print = 0.0
    deadline = time.monotonic() + plan.timeout
    status: Counter[str] = Counter()
    while True:
        time.sleep(0.5)
        if triggering and not any(t.is_alive() for t in threads):
            triggering = False
            triggers.ended = time.time()
            timeline.note(
                f"all triggered: {len(triggers.at)} runs in {triggers.ended - triggers.began:.1f} s"
                f" ({len(triggers.at) / max(triggers.ended - triggers.began, 1e-9):.0f}/s), "
                f"{len(triggers.errors)} refused"
            )
        status = counts()
        done = status["completed"]
        if killed is None and done >= kill_at:
            killed = workers["b"]
            assert killed.proc is not None
            busy = wait_until_executing(killed, seconds=15)
            killed.killed_at = time.time()
            Children.kill_group(killed.proc)
            timeline.note(
                f"SIGKILL process group of {killed.name} at {done} completed, "
                f"while it executed {busy} run(s)"
            )
        if (
            killed is not None
            and not replaced
            and time.time() - (killed.killed_at or 0) >= plan.replace_after
        ):
            replaced = True
            workers["b2"] = Worker("scale-b2", killed.queues)
            start_worker(workers["b2"], children, logdir, env, plan.concurrency)
            timeline.note("replacement scale-b2 started (like a supervisor would)")
        if killed is not None and not broker_restarted and done >= restart_at:
            broker_restarted = True
            broker_restarted_at = time.time()
            redis.stop()
            timeline.note(f"redis-server stopped at {done} completed (its queues are lost)")
            time.sleep(plan.broker_down)
            redis.start()
            timeline.note("redis-server started again, empty")
        finished = sum(status[s] for s in FINISHED)
        if time.monotonic() - last_print >= 10:
            last_print = time.monotonic()
            print(
                f"  t={time.time() - timeline.began:6.1f}s triggered {len(triggers.at)}, "
                + ", ".join(f"{k} {v}" for k, v in sorted(status.items())),
                file=sys.stderr,
                flush=True,
            )
        if not triggering and finished >= len(triggers.at):
            timeline.note(f"every run finished: {dict(status)}")
            break
        if time.monotonic() > deadline:
            timeline.note(f"TIMEOUT after {plan.timeout:.0f} s: {dict(status)}")
            break
    time.sleep(2)  # a duplicate execution still in flight would append its lines now
    leftover = broker_backlog(redis.url)
    for worker in workers.values():
        if worker.proc is not None and worker is not killed:
            Children.stop(worker.proc)
    return {
        "timeline": timeline,
        "triggers": triggers,
        "workers": workers,
        "killed": killed,
        "step_log": step_log,
        "status": status,
        "leftover": leftover,
        "broker_restarted_at": broker_restarted_at,
    }


def wait_until_executing(worker: Worker, seconds: float) -> int:
    """Wait (at most ``seconds``) until ``worker`` holds the lease of a running run, so
    the SIGKILL interrupts executions. Returns how many it holds."""
    from workflows.models import Run

    owned = Run.objects.filter(status="running", lease_owner__startswith=f"{worker.node}:")
    deadline = time.monotonic() + seconds
    while True:
        busy = owned.count()
        if busy or time.monotonic() > deadline:
            return busy
        time.sleep(0.02)


def broker_backlog(url: str) -> int:
    """Messages still in the broker's queues (duplicates the sweepers sent, never needed)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return sum(
            client.llen(key) for key in client.scan_iter(count=1000) if client.type(key) == b"list"
        )
    except redis.RedisError:
        return -1
    finally:
        client.close()


# -- analysis -------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))]


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths))
        + "|"
    )
    body = [
        "| "
        + " | ".join(
            (c.ljust(w) if i == 0 else c.rjust(w))
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        + " |"
        for r in rows
    ]
    return "\n".join([line, rule, *body])


def max_in_window(starts: list[float], period: float) -> int:
    """The most starts any half-open window of ``period`` seconds holds."""
    best, lo = 0, 0
    for hi, start in enumerate(starts):
        while start - starts[lo] >= period:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def analyse(plan: Plan, result: dict[str, Any], logdir: Path) -> tuple[str, bool]:
    from django.conf import settings
    from django.db.models import Count

    from bench import scale_flows
    from workflows._registry import get_function
    from workflows.models import Run, Step, TimelineEvent

    triggers: Triggers = result["triggers"]
    killed: Worker | None = result["killed"]
    workers: dict[str, Worker] = result["workers"]
    runs = list(
        Run.objects.filter(function_id__startswith="scale.").values(
            "id",
            "function_id",
            "priority",
            "queue",
            "throttle_key",
            "status",
            "input",
            "started_at",
            "finished_at",
            "attempt",
            "interruptions",
            "lease_owner",
        )
    )
    by_id = {r["id"]: r for r in runs}
    out: list[str] = []
    ok = True

    # Throughput: first trigger -> last finish.
    finished = [r["finished_at"].timestamp() for r in runs if r["finished_at"]]
    span = (max(finished) - triggers.began) if finished else float("nan")
    completed = sum(1 for r in runs if r["status"] == "completed")
    starts_all = [r["started_at"].timestamp() for r in runs if r["started_at"]]

    # Completions per second between the drill's events.
    marks = [("start", triggers.began)]
    if killed is not None and killed.killed_at:
        marks.append(("SIGKILL", killed.killed_at))
    if result["broker_restarted_at"]:
        marks.append(("broker restart", result["broker_restarted_at"]))
    marks.append(("end", max(finished) if finished else time.time()))
    phases = []
    for (label, t0), (next_label, t1) in pairwise(marks):
        n = sum(1 for f in finished if t0 < f <= t1)
        phases.append(
            f"{label} -> {next_label} {n:,} in {t1 - t0:.0f} s ({n / max(t1 - t0, 1e-9):.1f}/s)"
        )
    phase_line = "completions: " + "; ".join(phases)

    # Start delays (trigger call -> Run.started_at), per function and per priority.
    delays: dict[str, list[float]] = defaultdict(list)
    for run_id, at in triggers.at.items():
        run = by_id.get(run_id)
        if run and run["started_at"]:
            delays[run["function_id"]].append(run["started_at"].timestamp() - at)
    rows = []
    by_priority: dict[int, list[float]] = defaultdict(list)
    for function_id, _share, _work in MIX:
        options = get_function(function_id).options
        throttle = options.throttle
        values = delays[function_id]
        if throttle is None:
            by_priority[options.priority].extend(values)
        rows.append(
            [
                function_id,
                options.queue or "(default)",
                str(options.priority),
                f"{throttle.limit}/{throttle.period:g}s" + (" per key" if throttle.key else "")
                if throttle
                else "-",
                f"{sum(1 for r in runs if r['function_id'] == function_id):,}",
                fmt_ms(pct(values, 0.5)),
                fmt_ms(pct(values, 0.99)),
                fmt_ms(max(values) if values else None),
            ]
        )
    out.append(
        table(
            [
                "function",
                "queue",
                "priority",
                "throttle",
                "runs",
                "start p50 ms",
                "start p99 ms",
                "max ms",
            ],
            rows,
        )
    )
    out.append("")
    prio_rows = [
        [
            str(p),
            f"{len(v):,}",
            fmt_ms(pct(v, 0.5)),
            fmt_ms(pct(v, 0.99)),
        ]
        for p, v in sorted(by_priority.items(), reverse=True)
    ]
    out.append("Unthrottled runs by priority (trigger -> Run.started_at):")
    out.append("")
    out.append(table(["priority", "runs", "start p50 ms", "start p99 ms"], prio_rows))
    out.append("")
    notes: list[str] = []

    outcomes: dict[str, Counter[str]] = {}
    resent = 0
    for worker in workers.values():
        if worker.log is None or not worker.log.exists():
            continue
        seen: Counter[str] = Counter()
        for line in worker.log.read_text(errors="replace").splitlines():
            if "workflows.tasks" in line and "run " in line and ": " in line:
                seen[line.rsplit(": ", 1)[-1].strip()] += 1
            elif "sweeper re-enqueued" in line:
                with contextlib.suppress(ValueError, IndexError):
                    resent += int(line.split("sweeper re-enqueued ")[1].split()[0])
        outcomes[worker.name] = seen
    notes.append(
        "messages handled per worker (outcome of each execute_run): "
        + "; ".join(
            f"{name}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(c.items()))
            for name, c in outcomes.items()
        )
    )
    notes.append(
        f"messages re-sent by the sweepers: {resent:,}; left in the broker at the end "
        f"(duplicates nobody needed): {result['leftover']:,}"
    )
    # A run whose worker died while it held the lease is claimed again from "running"
    # (``run.resumed`` with ``from: running``); ``interruptions`` is reset once a step of
    # the resumed execution is recorded, so the timeline is what remembers it.
    resumes = list(
        TimelineEvent.objects.filter(
            type="run.resumed", run__function_id__startswith="scale.", payload__from="running"
        ).values_list("run_id", "created_at", "payload")
    )
    resumed_from = sorted({p.get("worker", "?").split("@")[0] for _, _, p in resumes})
    notes.append(
        f"runs resumed after losing their worker's lease: {len({r for r, _, _ in resumes})}"
        f" (resumed by {', '.join(resumed_from) or '-'}); runs executed in more than one"
        f" slice (attempt > 1): {sum(1 for r in runs if r['attempt'] > 1)}"
    )
    if killed is not None and killed.killed_at and resumes:
        late = [at.timestamp() - killed.killed_at for _, at, _ in resumes]
        notes.append(
            f"  resumed {min(late):.1f}-{max(late):.1f} s after the SIGKILL "
            f"(lease {settings.RAWR_RUN_LEASE_SECONDS:g} s, "
            f"sweep every {settings.RAWR_SWEEP_INTERVAL:g} s)"
        )

    # Check 1: nothing lost.
    missing = [run_id for run_id in triggers.at if run_id not in by_id]
    not_completed = Counter(r["status"] for r in runs if r["status"] != "completed")
    lost_ok = not missing and not not_completed and not triggers.errors and len(runs) == plan.runs
    ok &= lost_ok
    checks = [
        (
            lost_ok,
            f"no run lost: {completed:,} of {plan.runs:,} triggered runs completed"
            + (f"; refused triggers {len(triggers.errors)}" if triggers.errors else "")
            + (f"; missing {len(missing)}" if missing else "")
            + (f"; not completed {dict(not_completed)}" if not_completed else ""),
        )
    ]

    # Check 2: no double execution (run level: one run.completed; step level: the log).
    doubled_runs = (
        TimelineEvent.objects.filter(type="run.completed", run__function_id__startswith="scale.")
        .values("run_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    expected = {(r["id"], f"s{i}") for r in runs for i in range(r["input"].get("steps", 1))}
    recorded_steps = Step.objects.filter(
        run__function_id__startswith="scale.", status="completed"
    ).count()
    lines: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for line in result["step_log"].read_text().splitlines():
        run_id, step_id, pgid, _pid, at = line.split("\t")
        lines[(run_id, step_id)].append((int(pgid), float(at)))
    executions = sum(len(v) for v in lines.values())
    names = {w.proc.pid: w.name for w in workers.values() if w.proc is not None}
    step_by_worker = Counter(names.get(pg, str(pg)) for v in lines.values() for pg, _ in v)
    notes.append(
        "step executions per worker: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(step_by_worker.items())),
    )
    never = expected - set(lines)
    interrupted, unexplained = [], []
    for key, seen_lines in lines.items():
        if len(seen_lines) < 2:
            continue
        seen_lines.sort(key=lambda x: x[1])
        # At-least-once: a step whose body ran on the killed worker before the SIGKILL and
        # whose outcome was never written is executed again where the run resumes.
        earlier = seen_lines[:-1]
        if (
            killed is not None
            and killed.proc is not None
            and all(pg == killed.proc.pid and at <= (killed.killed_at or 0) for pg, at in earlier)
            and len(earlier) == 1
        ):
            interrupted.append(key)
        else:
            unexplained.append((key, seen_lines))
    twice_ok = not doubled_runs and not unexplained and not never
    ok &= twice_ok
    checks.append(
        (
            twice_ok,
            f"no run executed twice: {doubled_runs} runs completed more than once; "
            f"{executions:,} step executions for {len(expected):,} steps "
            f"({recorded_steps:,} recorded completed); "
            f"re-executed because the SIGKILL interrupted them: {len(interrupted)}; "
            f"other duplicates: {len(unexplained)}; never executed: {len(never)}",
        )
    )
    for key, seen_lines in unexplained[:10]:
        checks.append((False, f"  duplicate {key}: {seen_lines}"))

    # Check 3: every throttle held, per (function, key).
    throttle_lines = []
    throttle_ok = True
    for function_id in ("scale.sync", "scale.webhook"):
        throttle = get_function(function_id).options.throttle
        per_key: dict[str, list[float]] = defaultdict(list)
        for r in runs:
            if r["function_id"] == function_id and r["started_at"]:
                per_key[r["throttle_key"]].append(r["started_at"].timestamp())
        worst_key, worst = "", 0
        for key, starts in per_key.items():
            starts.sort()
            most = max_in_window(starts, throttle.period)
            if most > worst:
                worst_key, worst = key, most
        held = worst <= throttle.limit
        throttle_ok &= held
        hot = per_key.get(scale_flows_hot_key(function_id), [])
        throttle_lines.append(
            f"{function_id} {throttle.limit}/{throttle.period:g}s over {len(per_key)} key(s): "
            f"most starts in any {throttle.period:g} s window {worst} (key {worst_key or '(all)'})"
            + (
                f"; hot key {HOT_KEY}: {len(hot)} runs started over {max(hot) - min(hot):.1f} s"
                if len(hot) > 1
                else ""
            )
        )
    ok &= throttle_ok
    checks.append((throttle_ok, "every throttle held: " + "; ".join(throttle_lines)))

    head = [
        f"{plan.runs:,} runs, {len(triggers.at):,} triggered in "
        f"{(triggers.ended or time.time()) - triggers.began:.1f} s "
        f"({len(triggers.at) / max((triggers.ended or time.time()) - triggers.began, 1e-9):.0f}/s,"
        f" {plan.threads} threads; {triggers.slow} triggers took > 1 s)",
        f"throughput: {completed:,} runs completed in {span:.1f} s (first trigger -> last finish)"
        f" = {completed / span:.1f} runs/s; executing {min(starts_all) - triggers.began:.1f} s"
        f" after the first trigger"
        if starts_all
        else "throughput: nothing started",
        phase_line,
    ]
    del scale_flows  # imported for its registrations only
    verdicts = [f"  [{'ok' if c else 'FAIL'}] {t}" for c, t in checks]
    # Markdown as printed: the tables render, the rest stays in code blocks.
    fence = "```"
    return "\n".join([*head, fence, "", *out, fence, *notes, "", "checks:", *verdicts, fence]), ok


def scale_flows_hot_key(function_id: str) -> str:
    return HOT_KEY if function_id == "scale.sync" else "\0none"


# -- context -------------------------------------------------------------------------------
def code_version() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "workflows"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        head = ""
    if not head:
        return "unknown (not a git checkout)"
    return f"{head}{' + uncommitted changes in workflows/' if dirty else ''}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def versions(redis_port: int) -> str:
    from importlib.metadata import version

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    redis = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True
    ).stdout.split()
    redis_version = next((w.split("=")[1] for w in redis if w.startswith("v=")), "?")
    return (
        f"Python {platform.python_version()}, Postgres {postgres}, Redis {redis_version}, "
        f"Celery {version('celery')}, Django {version('django')}"
    )


def main() -> int:
    plan = Plan()
    logdir = Path(tempfile.mkdtemp(prefix="rawr-scale-"))
    children = Children()

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    redis = Redis(children, logdir)
    redis.start()
    os.environ["CELERY_BROKER_URL"] = redis.url
    os.environ["SCALE_STEP_LOG"] = str(logdir / "steps.log")
    os.environ["RAWR_WORKFLOW_MODULES"] = ",".join(
        dict.fromkeys(
            [m for m in os.environ.get("RAWR_WORKFLOW_MODULES", "").split(",") if m]
            + ["bench.scale_flows"]
        )
    )
    os.environ["RAWR_QUEUES"] = ",".join(
        [os.environ.get("RAWR_CELERY_QUEUE", "celery"), "urgent", "bulk"]
    )
    # The drill's trigger threads share the web processes' connection pool.
    os.environ["RAWR_WEB_THREADS"] = str(plan.threads + 2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rawr_site.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.conf import settings

    began = time.monotonic()
    load_before = load()
    print(f"scale drill: logs in {logdir}", file=sys.stderr, flush=True)
    try:
        result = drill(plan, children, logdir, redis)
        report, ok = analyse(plan, result, logdir)
    finally:
        children.stop_all()
    took = time.monotonic() - began
    context = (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"{versions(redis.port)}; code {code_version()}\n"
        f"load average (1/5/15 min) before {load_before}, after {load()}; took {took:.0f} s; "
        f"workers scale-a (-Q {settings.CELERY_TASK_DEFAULT_QUEUE},urgent), scale-b "
        f"(-Q {settings.CELERY_TASK_DEFAULT_QUEUE}; SIGKILLed, replaced by scale-b2), scale-c "
        f"(-Q bulk), prefork x{plan.concurrency} each; private redis-server (no persistence);"
        f" lease {settings.RAWR_RUN_LEASE_SECONDS:g} s, sweep every "
        f"{settings.RAWR_SWEEP_INTERVAL:g} s, sweep grace {settings.RAWR_SWEEP_GRACE_SECONDS:g} s"
    )
    timeline: Timeline = result["timeline"]
    events = "\n".join(f"  t={at - timeline.began:6.1f}s {text}" for at, text in timeline.entries)
    # One code block for the context, the drill's events and the headline figures (the
    # report closes it), then the tables, then the checks in a block of their own.
    print("```")
    print(context)
    print()
    print(events)
    print()
    print(report)
    print(f"\nlogs: {logdir}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
