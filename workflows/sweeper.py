"""The sweeper: re-enqueues runs whose message never arrived or whose worker died.

Safe to run from many workers at once: candidates are locked with SKIP LOCKED and
stamped before being sent, and a duplicate message is harmless (the claim is conditional).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q

from workflows import _enqueue, clock
from workflows._transitions import cancel_running
from workflows.models import Run, RunStatus

logger = logging.getLogger("workflows.sweeper")

BATCH = 500


def due_runs_filter(now, grace: timedelta) -> Q:
    stale = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - grace)
    queued = Q(status=RunStatus.QUEUED) & (Q(wake_at__isnull=True) | Q(wake_at__lte=now))
    parked = Q(status__in=[RunStatus.SLEEPING, RunStatus.WAITING], wake_at__lte=now)
    # A dead worker's run: sent again as soon as its lease has run out (not after the
    # grace), once per expiry; that is what bounds recovery to a lease plus a sweep.
    orphaned = Q(status=RunStatus.RUNNING, lease_expires_at__lt=now) & (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("lease_expires_at"))
    )
    return ((queued | parked) & stale) | orphaned


def apply_requested_cancels(now: datetime) -> int:
    """Cancel running runs whose cancel no execution applied in time.

    A cancel is applied at the next step boundary; a run whose worker died (lease expired)
    or whose step runs on for ``RAWR_CANCEL_GRACE_SECONDS`` is cancelled here instead.
    """
    grace = timedelta(seconds=float(settings.RAWR_CANCEL_GRACE_SECONDS))
    overdue = list(
        Run.objects.filter(status=RunStatus.RUNNING, cancel_requested_at__isnull=False)
        .filter(Q(lease_expires_at__lt=now) | Q(cancel_requested_at__lt=now - grace))
        .values_list("pk", flat=True)[:BATCH]
    )
    cancelled = 0
    for run_id in overdue:
        with transaction.atomic():
            run = Run.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
            if run is None or run.status != RunStatus.RUNNING:
                continue
            cancel_running(run, at_step_boundary=False)
            cancelled += 1
    if cancelled:
        logger.info("sweeper applied %d requested cancel(s)", cancelled)
    return cancelled


def sweep(*, grace_seconds: float | None = None) -> int:
    """Send one message for every due run that has none in flight. Returns how many."""
    now = clock.now()
    apply_requested_cancels(now)
    grace = timedelta(
        seconds=settings.RAWR_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds
    )
    with transaction.atomic():
        rows = list(
            Run.objects.select_for_update(skip_locked=True)
            .filter(due_runs_filter(now, grace))
            .order_by("-priority", "created_at")
            .values("id", "queue", "correlation_id", "priority")[:BATCH]
        )
        if not rows:
            return 0
        Run.objects.filter(pk__in=[row["id"] for row in rows]).update(enqueued_at=now)
    sent = 0
    for row in rows:
        if _enqueue.send(
            row["id"],
            queue=row["queue"],
            correlation_id=row["correlation_id"],
            priority=row["priority"],
        ):
            sent += 1
        else:
            # Broker down: un-stamp so the next tick retries at once, and stop trying now.
            Run.objects.filter(pk__in=[r["id"] for r in rows[sent:]]).update(enqueued_at=None)
            break
    if sent:
        logger.info("sweeper re-enqueued %d run(s)", sent)
    return sent


#: How often a worker deletes expired Celery result rows (CELERY_RESULT_EXPIRES).
RESULT_CLEANUP_SECONDS = 3600


def _expire_celery_results() -> None:
    """What Celery beat's ``backend_cleanup`` would do; we run no beat process.

    The worker's app is the current one (the runtime never imports the host's app).
    """
    current_app.backend.cleanup()


class SweeperThread(threading.Thread):
    """Runs ``sweep()`` every ``RAWR_SWEEP_INTERVAL`` seconds inside a worker process."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="rawr-sweeper", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        last_cleanup = time.monotonic()
        while not self.stopped.wait(self.interval):
            try:
                close_old_connections()
                sweep()
                if time.monotonic() - last_cleanup >= RESULT_CLEANUP_SECONDS:
                    last_cleanup = time.monotonic()
                    _expire_celery_results()
            except Exception:  # a DB or broker outage must not kill the thread; log and retry
                logger.exception("sweep failed; retrying in %.1fs", self.interval)

    def stop(self) -> None:
        self.stopped.set()
