"""Celery tasks of the runtime. Messages carry only a run id (never the input)."""

from __future__ import annotations

import logging
import os

from celery import shared_task
from django.db import close_old_connections

from rawr_site.log_context import reset_current, set_current
from rawr_site.unavailable import is_database_unavailable

logger = logging.getLogger("workflows.tasks")


@shared_task(
    name="workflows.execute_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def execute_run(self, run_id: str) -> str:
    """Execute one slice of run ``run_id``. A forged or replayed message can only resume a
    run that already exists and is due, because the claim is conditional on its row."""
    from workflows._engine import execute
    from workflows._enqueue import CORRELATION_HEADER
    from workflows.models import Run

    # Celery's own ``request.correlation_id`` is the task id, not the run's correlation id.
    correlation_id = (
        (self.request.get(CORRELATION_HEADER) if hasattr(self.request, "get") else None)
        or Run.objects.filter(pk=run_id).values_list("correlation_id", flat=True).first()
        or "-"
    )
    token = set_current(correlation_id)
    try:
        worker = f"{self.request.hostname or 'worker'}:{os.getpid()}"
        try:
            outcome = execute(str(run_id), worker)
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            # Postgres refused us (too many clients, restarting): nothing was claimed or
            # the lease runs out; try again shortly instead of waiting for the sweeper.
            logger.warning("run %s: database unavailable, retrying: %s", run_id, exc)
            close_old_connections()
            raise self.retry(countdown=min(30, 1 + self.request.retries), exc=exc) from exc
        logger.info("run %s: %s", run_id, outcome)
        return outcome
    finally:
        reset_current(token)


@shared_task(name="workflows.sweep", ignore_result=True)
def sweep_task() -> int:
    from workflows.sweeper import sweep

    return sweep()
