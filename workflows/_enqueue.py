"""Sending run ids to the broker. Always after commit; a broker failure loses nothing.

Dispatch is chosen by ``RAWR_WORKFLOWS_DISPATCH``: Celery (the task is addressed by name
through the current Celery app, so this module imports neither the tasks nor the engine
that they run) or ``inline`` (the in-process queue in ``_inline``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction

from workflows import _inline, clock
from workflows.models import Run

logger = logging.getLogger("workflows.enqueue")

#: The Celery task that executes a run (``workflows.tasks.execute_run``).
EXECUTE_TASK = "workflows.execute_run"

#: Message header carrying the run's correlation id to the worker's log lines.
CORRELATION_HEADER = "rawr_correlation_id"

#: How hard to try the broker while an HTTP caller waits; the sweeper does the rest.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}


def enqueue_on_commit(run: Run, *, eta: datetime | None = None, stamped: bool = False) -> None:
    """Send ``run.id`` once the current transaction commits (immediately if none is open).

    ``stamped``: the run was written with ``enqueued_at`` already set (saves an UPDATE).
    """
    run_id, queue, correlation_id, priority = run.id, run.queue, run.correlation_id, run.priority
    transaction.on_commit(
        lambda: send(
            run_id,
            queue=queue,
            correlation_id=correlation_id,
            priority=priority,
            eta=eta,
            stamped=stamped,
        )
    )


def dispatches_to_broker() -> bool:
    """Runs go to a real broker (not the in-process queue of unit tests)."""
    return settings.RAWR_WORKFLOWS_DISPATCH != "inline"


def _broker_priority(priority: int) -> int | None:
    """A function's priority (0..9, 9 most urgent) as the broker orders it.

    RabbitMQ serves the highest number first (queues declared with ``x-max-priority``);
    Redis (``priority_steps``) serves the lowest first, so the scale is turned over. The
    embedded broker of ``make run`` has no priorities.
    """
    scheme = str(current_app.conf.broker_url or "").split("://", 1)[0]
    if scheme in ("redis", "rediss"):
        return 9 - max(0, min(9, priority))
    if scheme in ("amqp", "pyamqp", "amqps"):
        return max(0, min(9, priority))
    return None


def send(
    run_id: str,
    *,
    queue: str = "",
    correlation_id: str = "",
    priority: int = 0,
    eta: datetime | None = None,
    stamped: bool = False,
) -> bool:
    """Publish one execution message. Returns False (and logs) when the broker is down.

    ``enqueued_at`` is the sweeper's clock: set once the message is out (already set when
    ``stamped``), cleared when it could not be sent so the next sweep sends it.
    Far-future wake-ups are not sent as ETA messages (brokers redeliver or hold those
    poorly); the sweeper wakes such runs when they are due.
    """
    now = clock.now()
    if settings.RAWR_WORKFLOWS_DISPATCH == "inline":
        _inline.pending.append((run_id, eta))
        if not stamped:
            Run.objects.filter(pk=run_id).update(enqueued_at=eta if eta and eta > now else now)
        return True
    if eta is not None and eta - now > timedelta(seconds=settings.RAWR_MAX_ETA_SECONDS):
        return True
    options: dict = {
        "args": [run_id],
        # Not "correlation_id": Celery overwrites that with the task id on delivery.
        "headers": {CORRELATION_HEADER: correlation_id},
        "retry": True,
        "retry_policy": PUBLISH_RETRY_POLICY,
    }
    if queue:
        options["queue"] = queue
    broker_priority = _broker_priority(priority)
    if broker_priority is not None:
        options["priority"] = broker_priority
    if eta is not None and eta > now:
        options["eta"] = eta
    try:
        # ``send_task`` applies the registered task's own options, as ``apply_async`` would.
        current_app.send_task(EXECUTE_TASK, **options)
    except Exception as exc:  # kombu/redis/amqp errors vary by transport; all mean "not sent"
        logger.warning("broker unavailable, run %s stays for the sweeper: %s", run_id, exc)
        if stamped:
            Run.objects.filter(pk=run_id).update(enqueued_at=None)
        return False
    if not stamped:
        Run.objects.filter(pk=run_id).update(enqueued_at=eta if eta and eta > now else now)
    return True
