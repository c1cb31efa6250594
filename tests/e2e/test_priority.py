"""Priority reaches the broker: with a backlog on one queue, urgent runs start first.

Runs of two functions on a queue of their own pile up with no worker; then one worker
(one process, one message at a time) drains the queue. The broker hands out priority 9
before priority 0 whatever the order they were sent in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.flows import BROKER_KEYS, PRIORITY_QUEUE, marks, wait_until
from workflows import trigger
from workflows.models import Run

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def test_urgent_runs_overtake_a_backlog_of_routine_ones(dedicated_worker, tmp_path: Path) -> None:
    log = str(tmp_path / "order.log")
    routine = [trigger("e2e.routine", {"log": log}).run for _ in range(6)]
    urgent = [trigger("e2e.urgent", {"log": log}).run for _ in range(3)]
    try:
        dedicated_worker(queues=PRIORITY_QUEUE, concurrency=1)
        wait_until(lambda: len(marks(log)) == 9, timeout=30, what="the backlog to drain")
    finally:
        if settings.CELERY_BROKER_URL.startswith("redis"):
            import redis

            client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
            keys = [k.format(PRIORITY_QUEUE) for k in BROKER_KEYS]
            client.delete(*keys, *(f"{PRIORITY_QUEUE}:{p}" for p in range(10)))

    order = marks(log)
    # The urgent runs were sent last but ran first (at most one routine run may have been
    # handed out before the urgent ones were visible to the worker's first fetch).
    assert order[:4].count("urgent") == 3, order
    starts = dict(
        Run.objects.filter(pk__in=[r.pk for r in routine + urgent]).values_list("pk", "started_at")
    )
    assert max(starts[r.pk] for r in urgent) < sorted(starts[r.pk] for r in routine)[1]
