"""The lease on a run: claiming a due run for one worker and keeping it while it executes.

A run executes in one place at a time because the claim is conditional on the row and a
lease expires only if nobody renews it. One ``LeaseKeeper`` thread per executing run (not
per step) renews it every third of the lease, so a worker that dies loses its runs within
``RAWR_RUN_LEASE_SECONDS`` and the sweeper hands them on; the same thread writes a step
that outlives ``RAWR_STEP_RECORD_AFTER_SECONDS`` as running (steps otherwise begin without
a write and are recorded once, when they end).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from workflows import _enqueue, _registry, _sql, clock
from workflows._flow import advisory_lock
from workflows._state import Ev, append, locked_run
from workflows.models import Run, RunStatus, Step

logger = logging.getLogger("workflows.lease")


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


def claim(run_id: str, worker: str, *, wait_for_commit: float = 0.0) -> _sql.Claimed | None:
    """Take the lease on a due run. ``None``: not ours to run (not due, someone has it, or
    there is no such run).

    On PostgreSQL one statement claims, writes ``run.started``/``run.resumed`` and returns
    the run with its memoized steps; runs of functions with a concurrency limit (and every
    run on SQLite) take the locking path, and their steps are read by ``StepAPI``.

    A trigger sends its message while its insert commits (``_triggers._insert``), so a
    message can arrive before its run is visible: for up to ``wait_for_commit`` seconds a
    missing run is looked for again (1, 2, 4 … ms apart).
    """
    if _sql.available():
        now = clock.now()
        claimed = _sql.claim(run_id, worker, now, lease_until(now))
        waited, pause = 0.0, 0.001
        while claimed.missing and waited < wait_for_commit:
            # The message may have outrun its run's insert: wait on the run's lock, which
            # the inserting trigger holds until it commits; and poll, in case the trigger
            # had not taken the lock yet.
            now = clock.now()
            claimed = _sql.claim(run_id, worker, now, lease_until(now), after_insert=True)
            if claimed.missing:
                time.sleep(pause)
                waited += pause
                pause = min(pause * 2, 0.05)
        if not claimed.limited:
            return claimed if claimed.run is not None else None
    now = clock.now()
    run = _claim_locked(run_id, worker, now)
    return _sql.Claimed(run, "") if run is not None else None


def _claim_locked(run_id: str, worker: str, now: datetime) -> Run | None:
    with transaction.atomic():
        run = locked_run(run_id)
        if run is None or not _claimable(run, now):
            return None
        function = _registry.get_function(run.function_id)
        waiting = _must_wait(run, function, now) if function is not None else None
        if waiting is not None:
            run.wake_at, run.waiting_reason = waiting
            run.save(update_fields=["wake_at", "waiting_reason", "updated_at"])
            _enqueue.enqueue_on_commit(run, eta=run.wake_at)
            return None
        run.waiting_reason = ""
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


def _must_wait(
    run: Run, function: _registry.DurableFunction, now: datetime
) -> tuple[datetime, str] | None:
    """When a limit holds the run back: when to look again, and why (shown on the run)."""
    options = function.options
    if options.concurrency_limit and not _concurrency_slot_free(run, function, now):
        key = run.concurrency_key or "(all)"
        reason = f"concurrency: key {key}, {options.concurrency_limit} running"
        return now + timedelta(seconds=1), reason
    throttle = options.throttle
    if throttle is None or run.started_at is not None:  # a resumed run started long ago
        return None
    advisory_lock(f"rawr-throttle:{run.function_id}:{run.throttle_key}")
    same_key = Run.objects.filter(function_id=run.function_id, throttle_key=run.throttle_key)
    starts = list(
        same_key.filter(started_at__gt=now - timedelta(seconds=throttle.period))
        .order_by("-started_at")
        .values_list("started_at", flat=True)[: throttle.limit]
    )
    if len(starts) < throttle.limit:
        return None
    ahead = same_key.filter(
        status=RunStatus.QUEUED, started_at__isnull=True, created_at__lt=run.created_at
    ).count()
    # The limit-th most recent start leaves the window first: that frees a slot.
    free_at = starts[-1] + timedelta(seconds=throttle.period)
    key = run.throttle_key or "(all)"
    return free_at, f"throttled: key {key}, {ahead} ahead"


def _concurrency_slot_free(run: Run, function: _registry.DurableFunction, now: datetime) -> bool:
    advisory_lock(f"rawr-concurrency:{run.function_id}:{run.concurrency_key}")
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
    """Keeps one executing run's lease, and writes a step that runs long as running.

    The work is done by the process's one keeper thread (``_KeeperThread``), so an
    execution costs no thread of its own. Only where it can help: not on SQLite (one
    writer at a time) and not inside an open transaction (unit tests run the engine inside
    one; the thread's own connection could not see the run and would wait on its lock).
    """

    def __init__(self, run_id: str, worker: str) -> None:
        self.run_id, self.worker = run_id, worker
        self.lock = threading.Lock()
        self.last_beat = time.monotonic()
        self.step: Step | None = None
        self.step_event: Ev | None = None
        self.step_since = 0.0
        self.recorded = False
        self._kept = False

    def start(self) -> LeaseKeeper:
        if (
            lease_seconds() >= 1.5
            and connection.vendor != "sqlite"
            and not (connection.in_atomic_block)
        ):
            self._kept = True
            _keeper_thread().add(self)
        return self

    def step_began(self, step: Step, started: Ev) -> None:
        with self.lock:
            self.step, self.step_event = step, started
            self.step_since, self.recorded = time.monotonic(), False

    def step_ended(self) -> bool:
        """The step is over (its outcome is about to be written). True when the keeper
        already wrote it as running with its ``step.started`` row."""
        with self.lock:
            recorded = self.recorded
            self.step, self.step_event, self.recorded = None, None, False
        return recorded

    def stop(self) -> None:
        if self._kept:
            _keeper_thread().remove(self)

    def due(self, interval: float, threshold: float) -> float:
        """When this run next needs the thread (monotonic seconds)."""
        with self.lock:
            due = self.last_beat + interval
            if self.step is not None and not self.recorded:
                due = min(due, self.step_since + threshold)
            return due

    def work(self, now: float, interval: float, threshold: float) -> bool:
        """Write what is due (under this run's lock, so a step's outcome waits for it).
        Returns whether the database was used."""
        with self.lock:
            step, event = self.step, self.step_event
            if (
                step is not None
                and event is not None
                and not self.recorded
                and now >= self.step_since + threshold
            ):
                at = clock.now()
                self.recorded = _sql.record_running_step(
                    run_id=self.run_id,
                    worker=self.worker,
                    lease_until=lease_until(at),
                    now=at,
                    step=step,
                    event=event,
                )
            elif now >= self.last_beat + interval:
                _sql.renew_lease(self.run_id, self.worker, lease_until())
            else:
                return False
            self.last_beat = now
            return True


class _KeeperThread:
    """The one thread per process that keeps the leases of the runs executing in it.

    Started on first use and again after a fork (a prefork pool child inherits the
    object but not the thread). Its database connection is closed after each round of
    writes: it is needed every few seconds at most, and must not outlive a test database.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keepers: dict[int, LeaseKeeper] = {}
        self._pid = 0

    def add(self, keeper: LeaseKeeper) -> None:
        with self._lock:
            self._keepers[id(keeper)] = keeper
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, daemon=True, name="rawr-lease").start()

    def remove(self, keeper: LeaseKeeper) -> None:
        with keeper.lock, self._lock:  # waits for a write of this run in progress
            self._keepers.pop(id(keeper), None)

    def _run(self) -> None:
        """Looks at the executing runs every ``tick`` seconds. It is never woken by an
        execution: a wake-up on every step would cost each step a thread switch."""
        while True:
            interval = lease_seconds() / 3
            threshold = float(settings.RAWR_STEP_RECORD_AFTER_SECONDS)
            tick = max(0.05, min(interval, threshold) / 2)
            with self._lock:
                keepers = list(self._keepers.values())
            now = time.monotonic()
            due = min((k.due(interval, threshold) for k in keepers), default=now + tick)
            time.sleep(min(tick, max(0.0, due - now)))
            used = False
            now = time.monotonic()
            for keeper in keepers:
                with self._lock:
                    if id(keeper) not in self._keepers:
                        continue
                try:
                    used = keeper.work(now, interval, threshold) or used
                except Exception:  # a failed renewal must not kill the thread
                    used = True  # its connection is closed below all the same
                    logger.exception("could not keep the lease of run %s", keeper.run_id)
            if used:
                close_old_connections()
                connection.close()


_keeper: _KeeperThread | None = None


def _keeper_thread() -> _KeeperThread:
    global _keeper
    if _keeper is None:
        _keeper = _KeeperThread()
    return _keeper
