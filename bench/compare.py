"""``make bench``: the durable runtime against DBOS Transact and raw Celery, one table.

Run through ``bench/bench.sh`` (which creates the bench's own databases, migrates, and
points ``DATABASE_URL`` / ``CELERY_BROKER_URL`` / ``BENCH_DBOS_DATABASE_URL`` at them).
The script starts and stops its own Celery worker (prefork, 2 processes) and gunicorn,
and measures, on the same Postgres and Redis, in one process:

1. trigger -> start: a 1-step run / a single task / a 1-step DBOS workflow, interleaved;
2. runs of N = 0, 1, 10, 100 steps (raw Celery: a single task, chains of 10 and 100),
   interleaved, end to end and in-process (the workflow body's own clock);
3. the profile of one step in the runtime (queries and SQL time, executed in-process by
   ``workflows.testing.drain``) and in DBOS (SQLAlchemy statements);
4. a burst of 1,000 runs (1 step each) / 1,000 tasks, enqueued first, then drained by a
   worker of 2 processes;
5. HTTP trigger throughput with 8 concurrent clients against gunicorn (no worker running):
   ``POST /api/workflows/search/enrich`` vs a raw ``INSERT + delay()`` view.

See bench/README.md for how each figure is computed. ``BENCH_QUICK=1`` (or ``--quick``)
takes a ~1-minute smoke run with few samples.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
PRINCIPAL = "system:bench"
READY_TIMEOUT = 90.0
RESULT_TIMEOUT = 60.0
#: Samples taken again because a database refused a connection or a result never came
#: (a shared machine's other tests can use up max_connections); counted in the output.
RETRIED: list[str] = []
WORKER_CONCURRENCY = 2
HTTP_CLIENTS = 8
BURST = 1000


@dataclass(frozen=True)
class Plan:
    start_samples: int
    reps: int
    warmup: int
    steps: tuple[int, ...]
    burst: int
    http_seconds: float
    http_rounds: int


FULL = Plan(
    start_samples=400,
    reps=40,
    warmup=2,
    steps=(0, 1, 10, 100),
    burst=BURST,
    http_seconds=6.0,
    http_rounds=2,
)
QUICK = Plan(
    start_samples=40,
    reps=4,
    warmup=1,
    steps=(0, 1, 10, 100),
    burst=200,
    http_seconds=2.0,
    http_rounds=1,
)


class BenchError(Exception):
    pass


# -- child processes ------------------------------------------------------------------------
class Children:
    """Every process the bench starts, each in its own process group, written to a pid file
    (``BENCH_PIDFILE``) so bench.sh's trap can kill them even if this process is killed."""

    def __init__(self) -> None:
        self.pidfile = os.environ.get("BENCH_PIDFILE", "")
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
    def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc, timeout=10)


def _child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "rawr_site.settings"}
    env.update(extra)
    return env


class Worker:
    """``celery -A rawr_site worker`` (prefork, 2 processes) that imports ``bench.flows``."""

    def __init__(self, children: Children, logdir: Path) -> None:
        self.children, self.logdir = children, logdir
        self.hostname = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> None:
        self.hostname = f"rawr-bench-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        self.log = self.logdir / f"worker-{self.hostname.split('@')[0]}.log"
        from django.conf import settings

        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        command = [
            sys.executable, "-m", "celery", "-A", "rawr_site", "worker", "--loglevel=WARNING",
            f"--hostname={self.hostname}", f"--queues={queue}", "--pool=prefork",
            f"--concurrency={WORKER_CONCURRENCY}", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ]  # fmt: skip
        self.proc = self.children.start(command, _child_env(), self.log)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        from celery.exceptions import TimeoutError as CeleryTimeout

        from bench.flows import step_task

        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise BenchError(f"worker exited:\n{self.log.read_text()[-3000:]}")
            try:
                reply = step_task.delay(-1).get(timeout=2, interval=0.05)
            except CeleryTimeout:
                if time.monotonic() > deadline:
                    raise BenchError(f"worker not ready:\n{self.log.read_text()[-3000:]}") from None
                continue
            check_worker(reply["worker"], self.hostname)
            return

    def stop(self) -> None:
        if self.proc is not None:
            Children.stop(self.proc)
            self.proc = None


def check_worker(actual: str, expected: str) -> None:
    if not actual.startswith(expected.split("@")[0]):
        raise BenchError(
            f"a message was executed by {actual}, not by the bench's worker {expected}: "
            "another worker consumes the bench's broker"
        )


class Gunicorn:
    """``gunicorn rawr_site.wsgi`` (gthread, 2 processes x 4 threads), production settings,
    with ``bench.site_settings`` so the raw baseline view is served by the same server."""

    def __init__(self, children: Children, logdir: Path) -> None:
        self.children, self.logdir = children, logdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = _free_port()

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "rawr_site.wsgi", f"--bind=127.0.0.1:{self.port}",
            "--workers=2", "--threads=4", "--worker-class=gthread", "--log-level=warning",
        ]  # fmt: skip
        env = _child_env(
            DJANGO_SETTINGS_MODULE="bench.site_settings",
            RAWR_ENV="production",
            SECRET_KEY=uuid.uuid4().hex * 2,
            ALLOWED_HOSTS="127.0.0.1",
            DEBUG="0",
        )
        self.log = self.logdir / "gunicorn.log"
        self.proc = self.children.start(command, env, self.log)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status < 500:
                    return
            if time.monotonic() > deadline:
                raise BenchError(f"gunicorn not ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            Children.stop(self.proc)
            self.proc = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- one sample of each system ------------------------------------------------------------
@dataclass
class Sample:
    total_ms: float  # trigger/send -> done, as recorded by whoever executed it
    start_ms: float | None  # trigger -> run.started / send -> task body / -> first step body
    first_step_ms: float | None  # trigger -> first step body start
    body_ms: float | None  # in-process time of the workflow body (the steps), None for Celery


def runtime_sample(n: int, poll: float) -> Sample:
    """Trigger a run of ``n`` steps through ``workflows.services.trigger``; worker clock."""
    from bench.flows import STEPS_FUNCTION_ID
    from workflows.models import FINISHED_STATUSES, Run
    from workflows.services import trigger

    sent = time.time()
    run_id = trigger(STEPS_FUNCTION_ID, {"steps": n}, principal=PRINCIPAL).run.pk
    deadline = time.monotonic() + RESULT_TIMEOUT
    while True:
        row = Run.objects.filter(pk=run_id).values_list(
            "status", "started_at", "finished_at", "output"
        )[0]
        if row[0] in FINISHED_STATUSES:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"run {run_id} still {row[0]} after {RESULT_TIMEOUT}s")
        time.sleep(poll)
    status, started_at, finished_at, output = row
    if status != "completed":
        raise BenchError(f"run {run_id} {status}")
    started = started_at or _run_started_event(run_id)
    first = output.get("firstStepAt")
    return Sample(
        total_ms=(finished_at.timestamp() - sent) * 1000,
        start_ms=(started.timestamp() - sent) * 1000 if started else None,
        first_step_ms=(first - sent) * 1000 if first is not None else None,
        body_ms=output.get("bodyMs"),
    )


def _run_started_event(run_id: str) -> datetime | None:
    from workflows.models import TimelineEvent

    return (
        TimelineEvent.objects.filter(run_id=run_id, type="run.started")
        .order_by("seq")
        .values_list("created_at", flat=True)
        .first()
    )


def celery_sample(n: int, poll: float, hostname: str) -> Sample:
    """A single ``bench.step`` task (n = 1) or a chain of n; the result row's ``date_done``
    (django-db backend, the project's configuration) is "done"."""
    from celery import chain
    from django_celery_results.models import TaskResult

    from bench.flows import step_task

    sent = time.time()
    if n == 1:
        result = step_task.delay(0)
    else:
        result = chain(step_task.si(i) for i in range(n)).apply_async()
    reply = result.get(timeout=RESULT_TIMEOUT, interval=poll)
    check_worker(reply["worker"], hostname)
    first = result
    while first.parent is not None:
        first = first.parent
    first_reply = reply if first is result else first.get(timeout=RESULT_TIMEOUT, interval=poll)
    done = TaskResult.objects.filter(task_id=result.id).values_list("date_done", flat=True)[0]
    start = (first_reply["at"] - sent) * 1000
    return Sample((done.timestamp() - sent) * 1000, start, start, None)


def dbos_sample(n: int) -> Sample:
    from bench import dbos_side

    total, first, body = dbos_side.run(n)
    return Sample(total, first, first, body)


# -- statistics ---------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Results:
    samples: dict[tuple[str, int], list[Sample]] = field(default_factory=dict)
    starts: dict[str, list[Sample]] = field(default_factory=dict)
    profile: dict[str, dict[str, float]] = field(default_factory=dict)
    burst: dict[str, dict[str, float]] = field(default_factory=dict)
    http: dict[str, dict[str, float]] = field(default_factory=dict)

    def totals(self, kind: str, n: int) -> list[float]:
        return [s.total_ms for s in self.samples.get((kind, n), [])]


# -- phases -------------------------------------------------------------------------------
def interleaved(
    jobs: list[tuple[str, Callable[[], Sample]]], rounds: int, warmup: int, label: str
) -> dict[str, list[Sample]]:
    """Each job once per round, in a shuffled order, after a short random pause (so no
    system always runs right after another, and sends don't lock onto a poll cycle)."""
    out: dict[str, list[Sample]] = {}
    for index in range(warmup + rounds):
        order = list(jobs)
        random.shuffle(order)
        for name, job in order:
            time.sleep(random.uniform(0, 0.02))
            sample = _retrying(job, name)
            if index >= warmup:
                out.setdefault(name, []).append(sample)
        progress(label, index + 1, warmup + rounds)
    return out


def _retrying(job: Callable[[], Sample], name: str, attempts: int = 3) -> Sample:
    """One sample; a database that refuses connections for a moment (a shared machine's
    other tests can use up ``max_connections``) costs a retry, not the whole run."""
    from celery.exceptions import TimeoutError as CeleryTimeout
    from django.db import OperationalError, close_old_connections

    for attempt in range(attempts):
        try:
            return job()
        except (OperationalError, CeleryTimeout, BenchError) as exc:
            if attempt == attempts - 1:
                raise
            RETRIED.append(f"{name}: {exc!r}"[:300])
            print(f"\n  {name}: {exc!r}; retrying in 3 s", file=sys.stderr)
            close_old_connections()
            time.sleep(3)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    began = time.monotonic()
    yield
    print(f"  {label}: {time.monotonic() - began:.0f} s, load {load()}", file=sys.stderr)


def progress(label: str, done: int, total: int) -> None:
    """A counter on a terminal; one line per phase in a log."""
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\r  {label}: {done}/{total}", end=end, file=sys.stderr, flush=True)
    elif done == total:
        print(f"  {label}: {total} rounds done", file=sys.stderr, flush=True)


def phase_starts(plan: Plan, worker: Worker, poll: float) -> dict[str, list[Sample]]:
    jobs = [
        ("runtime", lambda: runtime_sample(1, poll)),
        ("celery", lambda: celery_sample(1, poll, worker.hostname)),
        ("dbos", lambda: dbos_sample(1)),
    ]
    return interleaved(jobs, plan.start_samples, 5, "trigger -> start")


def phase_steps(plan: Plan, worker: Worker, poll: float) -> dict[tuple[str, int], list[Sample]]:
    jobs: list[tuple[str, Callable[[], Sample]]] = []
    for n in plan.steps:
        jobs.append((f"runtime:{n}", lambda n=n: runtime_sample(n, poll)))
        jobs.append((f"dbos:{n}", lambda n=n: dbos_sample(n)))
        if n >= 1:
            jobs.append((f"celery:{n}", lambda n=n: celery_sample(n, poll, worker.hostname)))
    raw = interleaved(jobs, plan.reps, plan.warmup, "N-step runs")
    return {(k.split(":")[0], int(k.split(":")[1])): v for k, v in raw.items()}


def phase_profile(steps: int = 100) -> dict[str, dict[str, float]]:
    """Queries and SQL time per step. The runtime's run is executed in this process by the
    real engine (``workflows.testing.drain``, dispatch inline) under Django's query capture;
    DBOS's statements are counted with a SQLAlchemy event on every engine."""
    out: dict[str, dict[str, float]] = {}
    for name, profile in (("runtime", _profile_runtime), ("dbos", _profile_dbos)):
        try:
            out[name] = profile(steps)
        except Exception as exc:  # the table still ships; say why a row is empty
            print(f"\n  profile of {name} failed: {exc!r}", file=sys.stderr)
    return out


def _profile_runtime(steps: int) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from bench.flows import STEPS_FUNCTION_ID
    from workflows.services import trigger
    from workflows.testing import clear, drain

    counts: dict[int, tuple[int, float, float]] = {}
    with override_settings(RAWR_WORKFLOWS_DISPATCH="inline"):
        for n in (0, steps):
            best: tuple[int, float, float] | None = None
            for _ in range(3):
                clear()
                trigger(STEPS_FUNCTION_ID, {"steps": n}, principal=PRINCIPAL)
                with CaptureQueriesContext(connection) as ctx:
                    began = time.perf_counter()
                    drain()
                    wall = (time.perf_counter() - began) * 1000
                sql = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
                if best is None or wall < best[2]:
                    best = (len(ctx.captured_queries), sql, wall)
            assert best is not None
            counts[n] = best
        clear()
    (q0, s0, w0), (qn, sn, wn) = counts[0], counts[steps]
    return {
        "queries_per_step": (qn - q0) / steps,
        "sql_ms_per_step": (sn - s0) / steps,
        "wall_ms_per_step": (wn - w0) / steps,
        "queries_per_run": q0,
    }


def _profile_dbos(steps: int) -> dict[str, float]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from bench import dbos_side

    state = {"count": 0, "time": 0.0}
    began_at: dict[int, float] = {}
    lock = threading.Lock()

    def before(conn, cursor, statement, parameters, context, executemany):
        began_at[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        with lock:
            state["count"] += 1
            state["time"] += time.perf_counter() - began_at.pop(id(cursor), time.perf_counter())

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        figures: dict[int, tuple[int, float, float]] = {}
        for n in (0, steps):
            best: tuple[int, float, float] | None = None
            for _ in range(3):
                time.sleep(0.05)  # let background threads settle
                state.update(count=0, time=0.0)
                total, _first, _body = dbos_side.run(n)
                got = (int(state["count"]), state["time"] * 1000, total)
                if best is None or got[2] < best[2]:
                    best = got
            assert best is not None
            figures[n] = best
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)
    (q0, s0, w0), (qn, sn, wn) = figures[0], figures[steps]
    return {
        "queries_per_step": (qn - q0) / steps,
        "sql_ms_per_step": (sn - s0) / steps,
        "wall_ms_per_step": (wn - w0) / steps,
        "queries_per_run": q0,
    }


def phase_burst(plan: Plan, children: Children, logdir: Path) -> dict[str, dict[str, float]]:
    """Enqueue ``plan.burst`` runs (1 step) with no worker running, then start a worker of
    2 processes and time the drain on the worker's clock: first run started -> last run
    finished. The same for ``plan.burst`` single Celery tasks (first body -> last result)."""
    from django.db.models import Max, Min
    from django_celery_results.models import TaskResult

    from bench.flows import STEPS_FUNCTION_ID, step_task
    from workflows.models import FINISHED_STATUSES, Run
    from workflows.services import trigger

    out: dict[str, dict[str, float]] = {}
    # runtime
    began = time.perf_counter()
    ids = [
        trigger(STEPS_FUNCTION_ID, {"steps": 1}, principal=PRINCIPAL).run.pk
        for _ in range(plan.burst)
    ]
    enqueue_s = time.perf_counter() - began
    runs = Run.objects.filter(pk__in=ids)
    worker = Worker(children, logdir)
    worker.start(wait=False)
    try:
        _drain(lambda: runs.filter(status__in=FINISHED_STATUSES).count(), len(ids))
        span = runs.aggregate(first=Min("started_at"), last=Max("finished_at"))
        not_completed = runs.exclude(status="completed").count()
    finally:
        worker.stop()
    seconds = (span["last"] - span["first"]).total_seconds()
    out["runtime"] = {
        "per_s": len(ids) / seconds,
        "drain_s": seconds,
        "enqueue_per_s": len(ids) / enqueue_s,
        "failed": not_completed,
    }
    # raw Celery
    began = time.perf_counter()
    task_ids = [step_task.delay(i).id for i in range(plan.burst)]
    enqueue_s = time.perf_counter() - began
    results = TaskResult.objects.filter(task_id__in=task_ids)
    worker = Worker(children, logdir)
    worker.start(wait=False)
    try:
        _drain(results.count, len(task_ids))
    finally:
        worker.stop()
    results = results.filter(status="SUCCESS")
    failed = len(task_ids) - results.count()
    rows = list(results.values_list("result", "date_done"))
    first = min(json.loads(r)["at"] for r, _ in rows)
    last = max(d for _, d in rows).timestamp()
    out["celery"] = {
        "per_s": len(task_ids) / (last - first),
        "drain_s": last - first,
        "enqueue_per_s": len(task_ids) / enqueue_s,
        "failed": failed,
    }
    return out


def _drain(finished: Callable[[], int], total: int, stalled_after: float = 20.0) -> None:
    """Until ``total`` units finished, or none finished for ``stalled_after`` seconds (a
    unit whose result could not be stored never shows up; the table counts it as missing)."""
    last, last_change = -1, time.monotonic()
    while (done := finished()) < total:
        if done != last:
            last, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > stalled_after:
            print(f"\n  burst: stalled at {done}/{total}", file=sys.stderr)
            return
        time.sleep(0.2)


def phase_http(plan: Plan, children: Children, logdir: Path) -> dict[str, dict[str, float]]:
    """Closed loop: 8 client threads (keep-alive connections) post as fast as answers come,
    for ``http_seconds`` per system per round, systems alternating; no worker runs."""
    from django.db import connection

    from bench.urls import RAW_TABLE_DDL
    from rawr_site.host.services import apikey_create

    with connection.cursor() as cursor:
        cursor.execute(RAW_TABLE_DDL)
    secret = apikey_create(name="bench", scopes=["search"]).secret
    targets = {
        "runtime": ("/api/workflows/search/enrich", {"documentId": 1}, f"Bearer {secret}"),
        "raw": ("/bench/raw-trigger", {"documentId": 1}, ""),
    }
    server = Gunicorn(children, logdir)
    server.start()
    try:
        for name, target in targets.items():  # warm-up: connections, imports, caches
            _http_load(server.port, *target, seconds=1.0, expect=202)
            del name
        totals: dict[str, dict[str, Any]] = {}
        for index in range(plan.http_rounds):
            for name, target in targets.items():
                got = _http_load(server.port, *target, seconds=plan.http_seconds, expect=202)
                agg = totals.setdefault(name, {"ok": 0, "bad": 0, "seconds": 0.0, "lat": []})
                agg["ok"] += got["ok"]
                agg["bad"] += got["bad"]
                agg["seconds"] += got["seconds"]
                agg["lat"].extend(got["lat"])
            progress("HTTP triggers", index + 1, plan.http_rounds)
    finally:
        server.stop()
    return {
        name: {
            "per_s": agg["ok"] / agg["seconds"],
            "bad": agg["bad"],
            "p50": med(agg["lat"]),
            "p99": pct(agg["lat"], 99),
        }
        for name, agg in totals.items()
    }


def _http_load(
    port: int, path: str, body: dict, auth: str, *, seconds: float, expect: int
) -> dict[str, Any]:
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    barrier = threading.Barrier(HTTP_CLIENTS + 1)
    lock = threading.Lock()
    state: dict[str, Any] = {"ok": 0, "bad": 0, "lat": [], "errors": set()}
    stop_at = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok = bad = 0
        lat: list[float] = []
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            try:
                conn.request("POST", path, payload, headers)
                response = conn.getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException) as exc:
                bad += 1
                state["errors"].add(repr(exc)[:200])
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            lat.append((time.perf_counter() - began) * 1000)
            if response.status == expect:
                ok += 1
            else:
                bad += 1
                state["errors"].add(f"{response.status} {text[:200]!r}")
        conn.close()
        with lock:
            state["ok"] += ok
            state["bad"] += bad
            state["lat"].extend(lat)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(HTTP_CLIENTS)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    state["seconds"] = time.perf_counter() - began
    if state["errors"]:
        examples = sorted(state["errors"])[:3]
        print(f"\n  {path}: {state['bad']} bad answers, e.g. {examples}", file=sys.stderr)
    return state


# -- housekeeping -------------------------------------------------------------------------
def reset_state() -> None:
    """Empty the bench's broker db and its run/result tables between phases, so a phase
    never drains what another left behind (and the sweeper finds nothing old)."""
    import redis
    from django.conf import settings
    from django.db import connection

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE workflows_run, django_celery_results_taskresult CASCADE")


def check_isolated() -> None:
    from django.conf import settings
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if not str(name).startswith("rawr_bench"):
        raise BenchError(f"refusing to run on database {name!r}: bench.sh sets rawr_bench_engine")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        raise BenchError("the bench needs a Redis broker db of its own (bench.sh sets one)")
    from rawr_site.celery import app

    with contextlib.suppress(Exception):
        replies = app.control.ping(timeout=1.0)
        if replies:
            raise BenchError(f"other workers consume the bench's broker: {replies}")


def machine_info() -> dict[str, str]:
    from importlib.metadata import version

    import redis
    from django.conf import settings
    from django.db import connection

    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    info = redis.Redis.from_url(settings.CELERY_BROKER_URL).info("server")
    return {
        "code": _code_version(),
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "postgres": pg,
        "redis": str(info.get("redis_version")),
        "celery": version("celery"),
        "django": version("django"),
        "dbos": version("dbos"),
        "gunicorn": version("gunicorn"),
        "kernel": platform.release(),
    }


def _code_version() -> str:
    """The commit measured, and whether the runtime had uncommitted changes."""
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
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# -- the table ----------------------------------------------------------------------------
def render(
    r: Results, plan: Plan, info: dict[str, str], loads: tuple[str, str], took: float
) -> str:
    rows: list[tuple[str, ...]] = []

    def f(x: float | None, digits: int = 1) -> str:
        if x is None or x != x:  # None or NaN
            return "-"
        return f"{x:,.{digits}f}"

    def ratio(a: float | None, b: float | None) -> str:
        if a is None or b is None or a != a or b != b or b == 0:
            return "-"
        return f"{a / b:.2f}x"

    def row(label: str, rt: float | None, db: float | None, ce: float | None, digits=1) -> None:
        rows.append(
            (label, f(rt, digits), f(db, digits), f(ce, digits), ratio(rt, db), ratio(rt, ce))
        )

    t = r.totals
    for n in plan.steps:
        if n == 0:
            continue
        rt = (med(t("runtime", n)) - med(t("runtime", 0))) / n
        db = (med(t("dbos", n)) - med(t("dbos", 0))) / n
        ce = (med(t("celery", n)) - med(t("celery", 1))) / (n - 1) if n > 1 else None
        row(f"per-step overhead, N={n} (ms, end to end)", rt, db, ce)
    for n in plan.steps:
        if n == 0:
            continue
        rt = med([s.body_ms / n for s in r.samples.get(("runtime", n), []) if s.body_ms])
        db = med([s.body_ms / n for s in r.samples.get(("dbos", n), []) if s.body_ms])
        row(f"per-step cost in-process, N={n} (ms)", rt, db, None)
    prof_rt, prof_db = r.profile.get("runtime", {}), r.profile.get("dbos", {})
    row("queries per step", prof_rt.get("queries_per_step"), prof_db.get("queries_per_step"), None)
    row(
        "SQL time per step (ms)",
        prof_rt.get("sql_ms_per_step"),
        prof_db.get("sql_ms_per_step"),
        None,
        2,
    )

    def starts(kind: str, attr: str) -> list[float]:
        return [getattr(s, attr) for s in r.starts.get(kind, []) if getattr(s, attr) is not None]

    for q in (50, 99):
        pick = med if q == 50 else (lambda v: pct(v, 99))
        row(
            f"trigger -> start p{q} (ms)",
            pick(starts("runtime", "start_ms")),
            pick(starts("dbos", "start_ms")),
            pick(starts("celery", "start_ms")),
        )
    for q in (50, 99):
        pick = med if q == 50 else (lambda v: pct(v, 99))
        row(
            f"trigger -> first step body p{q} (ms)",
            pick(starts("runtime", "first_step_ms")),
            pick(starts("dbos", "first_step_ms")),
            pick(starts("celery", "first_step_ms")),
        )
    ten = 10 if 10 in plan.steps else max(plan.steps)
    for q in (50, 95):
        pick = med if q == 50 else (lambda v: pct(v, 95))
        row(
            f"{ten}-step run end to end p{q} (ms)",
            pick(t("runtime", ten)),
            pick(t("dbos", ten)),
            pick(t("celery", ten)),
        )
    h = r.http
    row(
        f"HTTP triggers/s, {HTTP_CLIENTS} clients (higher is better)",
        h.get("runtime", {}).get("per_s"),
        None,
        h.get("raw", {}).get("per_s"),
    )
    row(
        "HTTP trigger latency p50 (ms)",
        h.get("runtime", {}).get("p50"),
        None,
        h.get("raw", {}).get("p50"),
    )
    row(
        "HTTP trigger latency p99 (ms)",
        h.get("runtime", {}).get("p99"),
        None,
        h.get("raw", {}).get("p99"),
    )
    b = r.burst
    row(
        f"burst of {plan.burst} drained by {WORKER_CONCURRENCY} workers, runs/s (higher is better)",
        b.get("runtime", {}).get("per_s"),
        None,
        b.get("celery", {}).get("per_s"),
    )
    row(
        "burst: enqueue rate, /s (in-process trigger vs delay())",
        b.get("runtime", {}).get("enqueue_per_s"),
        None,
        b.get("celery", {}).get("enqueue_per_s"),
    )

    header = ("metric", "runtime", "DBOS", "raw Celery", "runtime / DBOS", "runtime / Celery")
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
            )
            + " |"
        )

    sep = (
        "|"
        + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths))
        + "|"
    )
    n_steps = sum(len(v) for k, v in r.samples.items() if k[0] == "runtime")
    context = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {info['cpus']} CPUs ({info['cpu']}), "
        f"kernel {info['kernel']}, Python {info['python']}, Postgres {info['postgres']}, "
        f"Redis {info['redis']}, Celery {info['celery']}, Django {info['django']}, "
        f"DBOS {info['dbos']}, gunicorn {info['gunicorn']}; code {info['code']}",
        f"load average (1/5/15 min) before {loads[0]}, after {loads[1]}; took {took:.0f} s; "
        f"{plan.start_samples} trigger->start samples per system, {plan.reps} reps x N in "
        f"{list(plan.steps)} ({n_steps} runtime runs), worker prefork x{WORKER_CONCURRENCY}, "
        f"DBOS in the bench process; {len(RETRIED)} sample(s) retried",
    ]
    for kind, figures in r.burst.items():
        if figures.get("failed"):
            context.append(f"burst: {figures['failed']:.0f} {kind} unit(s) did not complete")
    for kind, figures in r.http.items():
        if figures.get("bad"):
            context.append(f"HTTP: {figures['bad']:.0f} {kind} answer(s) other than 202")
    misses = targets(r, plan)
    return "\n".join([*context, "", line(header), sep, *[line(x) for x in rows], "", *misses])


def targets(r: Results, plan: Plan) -> list[str]:
    """Issue 8's targets, checked against this run's figures."""
    t = r.totals
    out = ["issue 8 targets:"]

    def check(label: str, ok: bool | None, detail: str) -> None:
        mark = "n/a " if ok is None else ("met " if ok else "MISS")
        out.append(f"  [{mark}] {label}: {detail}")

    if 10 in plan.steps:
        rt = (med(t("runtime", 10)) - med(t("runtime", 0))) / 10
        db = (med(t("dbos", 10)) - med(t("dbos", 0))) / 10
        check("per-step overhead <= 0.5x DBOS (N=10)", rt <= 0.5 * db, f"{rt:.2f} vs {db:.2f} ms")
        rt10, ce10 = med(t("runtime", 10)), med(t("celery", 10))
        check("10-step run <= raw Celery chain of 10", rt10 <= ce10, f"{rt10:.1f} vs {ce10:.1f} ms")
    rs = [s.start_ms for s in r.starts.get("runtime", []) if s.start_ms is not None]
    cs = [s.start_ms for s in r.starts.get("celery", []) if s.start_ms is not None]
    if rs and cs:
        detail = f"{med(rs):.1f} vs {med(cs):.1f} ms"
        check("trigger->start p50 <= 1.3x raw Celery", med(rs) <= 1.3 * med(cs), detail)
    h = r.http
    if "runtime" in h and "raw" in h:
        a, b = h["runtime"]["per_s"], h["raw"]["per_s"]
        check("HTTP trigger throughput >= 50% of raw", a >= 0.5 * b, f"{a:.0f} vs {b:.0f} /s")
    return out


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1"
    )
    parser.add_argument("--poll-ms", type=float, default=5.0, help="client poll interval (5)")
    parser.add_argument(
        "--only", default="", help="comma list of phases: starts,steps,profile,burst,http"
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    phases = (
        set(args.only.split(",")) if args.only else {"starts", "steps", "profile", "burst", "http"}
    )
    poll = args.poll_ms / 1000

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rawr_site.settings")
    import django

    django.setup()
    from bench import dbos_side

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    children = Children()
    logdir = Path(tempfile.mkdtemp(prefix="rawr-bench-"))
    results = Results()
    began = time.monotonic()
    load_before = load()
    try:
        check_isolated()
        info = machine_info()
        reset_state()
        dbos_side.launch(os.environ["BENCH_DBOS_DATABASE_URL"])
        print(f"bench: logs in {logdir}; quick={args.quick}", file=sys.stderr)
        if phases & {"starts", "steps"}:
            worker = Worker(children, logdir)
            worker.start()
            try:
                if "starts" in phases:
                    with timed("trigger -> start"):
                        results.starts = phase_starts(plan, worker, poll)
                if "steps" in phases:
                    with timed("N-step runs"):
                        results.samples = phase_steps(plan, worker, poll)
            finally:
                worker.stop()
        if "profile" in phases:
            reset_state()
            with timed("profile"):
                results.profile = phase_profile()
        if "burst" in phases:
            reset_state()
            with timed("burst"):
                results.burst = phase_burst(plan, children, logdir)
        if "http" in phases:
            reset_state()
            with timed("HTTP"):
                results.http = phase_http(plan, children, logdir)
        reset_state()
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"\nbench: {exc}", file=sys.stderr)
        return 1
    finally:
        children.stop_all()
        with contextlib.suppress(Exception):
            dbos_side.shutdown()
    print()
    print(render(results, plan, info, (load_before, load()), time.monotonic() - began))
    return 0


if __name__ == "__main__":
    sys.exit(main())
