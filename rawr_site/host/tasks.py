"""Host-level Celery tasks."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from rawr_site.log_context import reset_current, set_current

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="rawr.ping", ignore_result=False)
def ping(self: Task, correlation_id: str = "") -> dict[str, Any]:
    """Prove that a worker consumes from the broker and can write its result.

    Touches no domain data, so it is safe to send at any time (health checks, tests).
    The result names the worker that ran it and echoes the caller's correlation id.
    """
    token = set_current(correlation_id or "-")
    try:
        logger.info("pong from %s", self.request.hostname)
        return {"pong": True, "worker": self.request.hostname, "correlationId": correlation_id}
    finally:
        reset_current(token)
