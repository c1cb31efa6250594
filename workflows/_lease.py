"""The lease on a run: claiming a due run for one worker and renewing it while a step runs.

A run executes in one place at a time because the claim is conditional on the row (under
its lock) and a lease expires only if nobody renews it.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from workflows import _enqueue, _registry
from workflows._state import Ev, append, locked_run
from workflows.models import Run, RunStatus


def lease_seconds() -> float:
    return float(settings.RAWR_RUN_LEASE_SECONDS)


# -- claiming ---------------------------------------------------------------------------
def _claimable(run: Run, now: datetime) -> bool:
    if run.status == RunStatus.QUEUED:
        return run.wake_at is None or run.wake_at <= now
    if run.status in (RunStatus.SLEEPING, RunStatus.WAITING):
        return run.wake_at is not None and run.wake_at <= now
    if run.status == RunStatus.RUNNING:
        return run.lease_expires_at is None or run.lease_expires_at < now
    return False


def claim(run_id: str, worker: str) -> Run | None:
    """Take the lease on a due run (conditional, under a row lock). ``None``: not ours to run."""
    now = timezone.now()
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


class Heartbeat:
    """Renews the lease while a long step runs, so no sweeper hands the run to another worker."""

    def __init__(self, run_id: str, worker: str) -> None:
        self.run_id, self.worker = run_id, worker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        interval = lease_seconds() / 3
        if interval >= 0.5 and connection.vendor != "sqlite":
            self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
            self._thread.start()
        return self

    def _beat(self, interval: float) -> None:
        try:
            while not self._stop.wait(interval):
                Run.objects.filter(pk=self.run_id, lease_owner=self.worker).update(
                    lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds())
                )
        finally:
            close_old_connections()
            connection.close()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
