"""What the durable runtime costs on top of plain Celery. Not a test: run it by hand.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rawr_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
    .venv/bin/python bench/workflow_overhead.py

In one process it starts a real worker (a subprocess, like the e2e fixture), then measures,
interleaved over ``--reps`` repetitions after ``--warmup`` discarded ones:

* raw Celery: ``rawr.ping`` (a trivial task with a stored result) and a chain of
  ``--steps`` pings, each link sent by the worker when the previous one finishes;
* the durable runtime: ``rawr.doctor`` with 0 steps and with ``--steps`` steps
  (``step_sleep=0``), triggered like any caller triggers a run.

Two clocks: "send -> done" uses the worker's own timestamps (``TaskResult.date_done``,
timeline events) against the moment the bench sent the message, so it carries no polling
delay; "client round trip" is what a caller polling every ``--poll-ms`` sees. Both run on one
machine, so the clocks agree. The database and broker should be dedicated to the bench:
another worker on the same broker would take some of the messages (the bench refuses
to run if it sees one). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
#: How often the client looks for a result (``--poll-ms``). Polling Postgres every 2 ms
#: on a small machine slows the worker itself, so the default is gentler.
DEFAULT_POLL_MS = 10.0
READY_TIMEOUT_SECONDS = 60
RESULT_TIMEOUT_SECONDS = 60
PRINCIPAL = "system:bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="measured repetitions (20)")
    parser.add_argument("--warmup", type=int, default=3, help="discarded repetitions (3)")
    parser.add_argument("--steps", type=int, default=10, help="steps / chain length N (10)")
    parser.add_argument("--pool", default="prefork", help="worker pool (prefork)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker concurrency (2)")
    parser.add_argument(
        "--poll-ms", type=float, default=DEFAULT_POLL_MS, help="client poll interval (10)"
    )
    parser.add_argument(
        "--jitter-ms",
        type=float,
        default=100.0,
        help="random pause before each sample, so sends do not lock onto a polling "
        "broker's cycle (100)",
    )
    parser.add_argument("--keep-rows", action="store_true", help="keep the bench's runs/results")
    args = parser.parse_args()
    if args.steps < 2 or args.reps < 1:
        parser.error("--steps must be at least 2 and --reps at least 1")

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rawr_site.settings")
    import django

    django.setup()
    _require_migrated()

    started = datetime.now(UTC)
    worker = Worker(args.pool, args.concurrency)
    try:
        worker.start()
        print(f"worker {worker.hostname} ready ({args.pool} x{args.concurrency}); measuring...")
        results = measure(
            args.steps,
            args.reps,
            args.warmup,
            worker.hostname,
            args.poll_ms / 1000,
            args.jitter_ms / 1000,
        )
    except KeyboardInterrupt:
        return 130
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        worker.stop()
        if not args.keep_rows:
            _delete_rows(started, worker.hostname)
    print()
    print(render(results, args))
    return 0


class BenchError(Exception):
    pass


# -- the worker ---------------------------------------------------------------------------
class Worker:
    """``celery -A rawr_site worker`` in its own process group, logging to a temp file."""

    def __init__(self, pool: str, concurrency: int) -> None:
        self.hostname = f"rawr-bench-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        self.pool, self.concurrency = pool, concurrency
        self.log_path = Path(tempfile.mkstemp(prefix="rawr-bench-worker-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from rawr_site.celery import app

        others = _other_workers(app)
        if others:
            raise BenchError(
                f"other workers consume this broker ({', '.join(others)}): they would take "
                "part of the messages. Point CELERY_BROKER_URL at a dedicated broker/db."
            )
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "rawr_site",
            "worker",
            "--loglevel=WARNING",
            f"--hostname={self.hostname}",
            "--queues=celery",
            f"--pool={self.pool}",
            f"--concurrency={self.concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        from celery.exceptions import TimeoutError as CeleryTimeout

        from rawr_site.host.tasks import ping

        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            try:
                reply = ping.delay(correlation_id="bench-ready").get(timeout=2, interval=0.05)
            except CeleryTimeout:
                if time.monotonic() > deadline:
                    raise BenchError(f"worker not ready in time:\n{self.log()}") from None
                continue
            _check_worker(reply["worker"], self.hostname)
            return

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _other_workers(app) -> list[str]:
    try:
        replies = app.control.ping(timeout=1.0)
    except Exception as exc:  # a transport without broadcast support: rely on ping replies
        print(f"(could not list workers: {exc}; relying on task replies)", file=sys.stderr)
        return []
    return sorted(name for reply in replies for name in reply)


def _check_worker(actual: str, expected: str) -> None:
    if not actual.startswith(expected):
        raise BenchError(
            f"a message was executed by {actual}, not by the bench's worker {expected}: "
            "point CELERY_BROKER_URL at a broker no other worker consumes"
        )


# -- one sample of each kind ------------------------------------------------------------
def raw_single(hostname: str, poll: float) -> tuple[float, float]:
    """(send -> result stored by the worker, client round trip) of one ``rawr.ping``, ms."""
    from django_celery_results.models import TaskResult

    from rawr_site.host.tasks import ping

    sent_at, begun = time.time(), time.perf_counter()
    result = ping.delay(correlation_id="bench")
    reply = result.get(timeout=RESULT_TIMEOUT_SECONDS, interval=poll)
    round_trip = (time.perf_counter() - begun) * 1000
    _check_worker(reply["worker"], hostname)
    done = TaskResult.objects.filter(task_id=result.id).values_list("date_done", flat=True)[0]
    return (done.timestamp() - sent_at) * 1000, round_trip


def raw_chain(steps: int, hostname: str, poll: float) -> tuple[float, float]:
    """The same for a chain of ``steps`` pings (each link sent by the worker)."""
    from celery import chain
    from django_celery_results.models import TaskResult

    from rawr_site.host.tasks import ping

    links = chain(ping.si(correlation_id=f"bench-{i}") for i in range(steps))
    sent_at, begun = time.time(), time.perf_counter()
    result = links.apply_async()
    reply = result.get(timeout=RESULT_TIMEOUT_SECONDS, interval=poll)
    round_trip = (time.perf_counter() - begun) * 1000
    _check_worker(reply["worker"], hostname)
    done = TaskResult.objects.filter(task_id=result.id).values_list("date_done", flat=True)[0]
    return (done.timestamp() - sent_at) * 1000, round_trip


def durable(steps: int, hostname: str, poll: float):
    """(timings, client round trip ms) of one ``rawr.doctor`` run with ``steps`` steps."""
    from workflows.builtin import DOCTOR_FUNCTION_ID
    from workflows.diagnostics import run_timings
    from workflows.models import FINISHED_STATUSES, Run
    from workflows.services import trigger

    begun = time.perf_counter()
    run = trigger(DOCTOR_FUNCTION_ID, {"steps": steps, "step_sleep": 0}, principal=PRINCIPAL).run
    deadline = begun + RESULT_TIMEOUT_SECONDS
    while True:
        status = Run.objects.filter(pk=run.pk).values_list("status", flat=True)[0]
        if status in FINISHED_STATUSES:
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"run {run.pk} still {status} after {RESULT_TIMEOUT_SECONDS}s")
        time.sleep(poll)
    round_trip = (time.perf_counter() - begun) * 1000
    run.refresh_from_db()
    if status != "completed":
        raise BenchError(f"run {run.pk} {status}: {run.error}")
    timings = run_timings(run=run)
    _check_worker(timings.worker, hostname)
    return timings, round_trip


# -- the measurement ----------------------------------------------------------------------
Samples = dict[str, list[float]]


def measure(
    steps: int, reps: int, warmup: int, hostname: str, poll: float, jitter: float
) -> Samples:
    """Interleaved samples. Each is taken after a random pause: a closed loop would send
    every message right after the worker's consumer last looked, so on a polling broker
    (the embedded one polls every 100 ms) every sample would wait a whole cycle."""
    samples: Samples = {}

    def add(name: str, value: float | None, keep: bool) -> None:
        if keep and value is not None:
            samples.setdefault(name, []).append(value)

    def pause() -> None:
        time.sleep(random.uniform(0, jitter))

    for rep in range(warmup + reps):
        keep = rep >= warmup
        pause()
        done, trip = raw_single(hostname, poll)
        add("raw1.done", done, keep)
        add("raw1.trip", trip, keep)
        pause()
        done, trip = raw_chain(steps, hostname, poll)
        add("rawN.done", done, keep)
        add("rawN.trip", trip, keep)
        pause()
        timings, trip = durable(0, hostname, poll)
        add("dur0.done", timings.total_ms, keep)
        add("dur0.trip", trip, keep)
        add("dur0.start", timings.trigger_to_start_ms, keep)
        pause()
        timings, trip = durable(steps, hostname, poll)
        add("durN.done", timings.total_ms, keep)
        add("durN.trip", trip, keep)
        add("durN.start", timings.trigger_to_start_ms, keep)
        add("durN.step", timings.per_step_overhead_ms, keep)
        _progress(rep + 1, warmup + reps)
    return samples


def _progress(done: int, total: int) -> None:
    print(f"\r  {done}/{total}", end="", file=sys.stderr, flush=True)


# -- the report ---------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def render(s: Samples, args: argparse.Namespace) -> str:
    from django.conf import settings
    from django.db import connection
    from kombu.utils.url import maybe_sanitize_url

    n = args.steps
    rows: list[tuple[str, str, str, str, str, str]] = []

    def fmt(values: list[float] | None, pick: Callable[[list[float]], float]) -> str:
        return f"{pick(values):.1f}" if values else "-"

    def row(label: str, raw: list[float] | None, dur: list[float] | None) -> None:
        ratio = f"{median(dur) / median(raw):.1f}x" if raw and dur else "-"
        rows.append(
            (label, fmt(raw, median), fmt(raw, p95), fmt(dur, median), fmt(dur, p95), ratio)
        )

    row("1 unit: send -> done (worker clock)", s["raw1.done"], s["dur0.done"])
    row("1 unit: client round trip", s["raw1.trip"], s["dur0.trip"])
    row(f"{n} units: send -> last done", s["rawN.done"], s["durN.done"])
    row(f"{n} units: client round trip", s["rawN.trip"], s["durN.trip"])
    raw_marginal = (median(s["rawN.done"]) - median(s["raw1.done"])) / (n - 1)
    dur_marginal = (median(s["durN.done"]) - median(s["dur0.done"])) / n
    rows.append(
        (
            "per unit, marginal (from medians)",
            f"{raw_marginal:.1f}",
            "",
            f"{dur_marginal:.1f}",
            "",
            f"{dur_marginal / raw_marginal:.1f}x" if raw_marginal > 0 else "-",
        )
    )
    row("durable: trigger -> run.started", None, s["dur0.start"] + s["durN.start"])
    row(f"durable: per-step overhead ({n} steps, timeline)", None, s["durN.step"])

    header = ("metric (ms)", "raw median", "raw p95", "durable median", "durable p95", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "| " + " | ".join(parts) + " |"

    separator = (
        "|"
        + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths))
        + "|"
    )
    context = (
        f"database {connection.vendor}:{connection.settings_dict['NAME']}, broker "
        f"{maybe_sanitize_url(settings.CELERY_BROKER_URL)}, worker {args.pool} "
        f"x{args.concurrency}, {args.reps} reps (+{args.warmup} warm-up), N={n}, "
        f"client poll {args.poll_ms:g} ms, jitter {args.jitter_ms:g} ms, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end"
    )
    raw_desc = "raw = rawr.ping (1 unit) / chain of N rawr.ping.si (N units), result in django-db"
    dur_desc = "durable = rawr.doctor with 0 steps (1 unit) / N steps (N units), step_sleep=0"
    return "\n".join(
        [context, raw_desc, dur_desc, "", line(header), separator] + [line(r) for r in rows]
    )


# -- housekeeping -------------------------------------------------------------------------
def _require_migrated() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise SystemExit(
            "bench: the database has unapplied migrations; run `python manage.py migrate` "
            "with the same DATABASE_URL (or RAWR_DATA_DIR) first"
        )


def _delete_rows(since: datetime, hostname: str) -> None:
    """The bench's own rows: its runs (steps and timelines cascade) and task results."""
    from django_celery_results.models import TaskResult

    from workflows.models import Run

    Run.objects.filter(principal=PRINCIPAL, created_at__gte=since).delete()
    TaskResult.objects.filter(worker=hostname).delete()
    TaskResult.objects.filter(date_created__gte=since, task_name="rawr.ping").delete()


if __name__ == "__main__":
    sys.exit(main())
