"""The lease on a run: claiming a due run for one worker and keeping it while it executes.

A run executes in one place at a time because the claim is conditional on the row and a
lease expires only if nobody renews it. One ``LeaseKeeper`` thread per executing run (not
per step) renews it every third of the lease, so a worker that dies loses its runs within
``RAWR_RUN_LEASE_SECONDS`` and the sweeper hands them on; the same thread writes a step
that outlives ``RAWR_STEP_RECORD_AFTER_SECONDS`` as running (steps otherwise begin without
a write and are recorded once, when they end).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from workflows import _enqueue, _registry, _sql, clock
from workflows._state import Ev, append, locked_run
from workflows.models import Run, RunStatus, Step


def lease_seconds() -> float:
    return float(settings.RAWR_RUN_LEASE_SECONDS)


def lease_until(now: datetime | None = None) -> datetime:
    return (now or clock.now()) + timedelta(seconds=lease_seconds())


# -- claiming ---------------------------------------------------------------------------
def _claimable(run: Run, now: datetime) -> bool:
    if run.status == RunStatus.QUEUED:
        return run.wake_at is None or run.wake_at <= now
    if run.status in (RunStatus.SLEEPING, RunStatus.WAITING):
        return run.wake_at is not None and run.wake_at <= now
    if run.status == RunStatus.RUNNING:
        return run.lease_expires_at is None or run.lease_expires_at < now
    return False


def claim(run_id: str, worker: str) -> _sql.Claimed | None:
    """Take the lease on a due run. ``None``: not ours to run (not due, or someone has it).

    On PostgreSQL one statement claims, writes ``run.started``/``run.resumed`` and returns
    the run with its memoized steps; runs of functions with a concurrency limit (and every
    run on SQLite) take the locking path, and their steps are read by ``StepAPI``.
    """
    now = clock.now()
    if _sql.available():
        claimed = _sql.claim(run_id, worker, now, lease_until(now))
        if claimed is None or not claimed.limited:
            return claimed if claimed is not None and claimed.run is not None else None
    run = _claim_locked(run_id, worker, now)
    return _sql.Claimed(run, "") if run is not None else None


def _claim_locked(run_id: str, worker: str, now: datetime) -> Run | None:
    with transaction.atomic():
        run = locked_run(run_id)
        if run is None or not _claimable(run, now):
            return None
        function = _registry.get_function(run.function_id)
        limited = function is not None and function.options.concurrency_limit
        if limited and not _concurrency_slot_free(run, function, now):
            # Over the limit: stay queued and look again in a second.
            run.wake_at = now + timedelta(seconds=1)
            run.save(update_fields=["wake_at", "updated_at"])
            _enqueue.enqueue_on_commit(run, eta=run.wake_at)
            return None
        first = run.started_at is None
        previous = run.status
        run.status = RunStatus.RUNNING
        run.lease_owner = worker
        run.lease_expires_at = now + timedelta(seconds=lease_seconds())
        run.attempt += 1
        if previous == RunStatus.RUNNING:  # its last executor lost the lease (died)
            run.interruptions += 1
        run.wake_at = None
        if first:
            run.started_at = now
        payload = {"worker": worker, "attempt": run.attempt}
        if first:
            event = Ev("run.started", payload=payload)
        else:
            event = Ev("run.resumed", payload={**payload, "from": previous})
        append(run, [event])
        return run


def _concurrency_slot_free(run: Run, function: _registry.DurableFunction, now: datetime) -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"rawr-concurrency:{run.function_id}:{run.concurrency_key}"],
            )
    running = (
        Run.objects.filter(
            function_id=run.function_id,
            concurrency_key=run.concurrency_key,
            status=RunStatus.RUNNING,
            lease_expires_at__gt=now,
        )
        .exclude(pk=run.pk)
        .count()
    )
    return running < (function.options.concurrency_limit or 0)


class LeaseKeeper:
    """Renews one executing run's lease, and writes a long step as running.

    A thread only where it can help: not on SQLite (one writer at a time) and not inside
    an open transaction (unit tests run the engine inside one; the thread's own
    connection could not see the run and would wait on its row lock).
    """

    def __init__(self, run_id: str, worker: str) -> None:
        self.run_id, self.worker = run_id, worker
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._step: Step | None = None
        self._step_event: Ev | None = None
        self._step_since = 0.0
        self._recorded = False

    def start(self) -> LeaseKeeper:
        if (
            lease_seconds() >= 1.5
            and connection.vendor != "sqlite"
            and not (connection.in_atomic_block)
        ):
            self._thread = threading.Thread(target=self._run, daemon=True, name="rawr-lease")
            self._thread.start()
        return self

    def step_began(self, step: Step, started: Ev) -> None:
        with self._lock:
            self._step, self._step_event = step, started
            self._step_since, self._recorded = time.monotonic(), False
        self._wake.set()

    def step_ended(self) -> bool:
        """The step is over (its outcome is about to be written). True when this keeper
        already wrote it as running with its ``step.started`` row."""
        with self._lock:
            recorded = self._recorded
            self._step, self._step_event, self._recorded = None, None, False
        return recorded

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = lease_seconds() / 3
        threshold = float(settings.RAWR_STEP_RECORD_AFTER_SECONDS)
        last_beat = time.monotonic()
        try:
            while True:
                with self._lock:
                    if self._stopped:
                        return
                    due = last_beat + interval
                    if self._step is not None and not self._recorded:
                        due = min(due, self._step_since + threshold)
                self._wake.wait(max(0.0, due - time.monotonic()))
                self._wake.clear()
                with self._lock:
                    if self._stopped:
                        return
                    now = time.monotonic()
                    step, event = self._step, self._step_event
                    if (
                        step is not None
                        and event is not None
                        and not self._recorded
                        and now >= self._step_since + threshold
                    ):
                        at = clock.now()
                        self._recorded = _sql.record_running_step(
                            run_id=self.run_id,
                            worker=self.worker,
                            lease_until=lease_until(at),
                            now=at,
                            step=step,
                            event=event,
                        )
                        last_beat = now
                    elif now >= last_beat + interval:
                        _sql.renew_lease(self.run_id, self.worker, lease_until())
                        last_beat = now
        finally:
            close_old_connections()
            connection.close()
