"""A task sent through the real broker is run by a real worker process."""

from __future__ import annotations

import json

import pytest
from django_celery_results.models import TaskResult

from rawr_site.host.tasks import ping

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RESULT_TIMEOUT_SECONDS = 30


def test_ping_is_executed_by_the_worker_and_its_result_is_stored(celery_worker_process):
    sent = ping.delay(correlation_id="e2e-ping-1")

    reply = sent.get(timeout=RESULT_TIMEOUT_SECONDS)

    assert reply == {
        "pong": True,
        "worker": celery_worker_process.hostname,
        "correlationId": "e2e-ping-1",
    }
    row = TaskResult.objects.get(task_id=sent.id)
    assert row.status == "SUCCESS"
    assert row.task_name == "rawr.ping"
    assert row.worker == celery_worker_process.hostname
    assert json.loads(row.result) == reply


def test_each_of_many_pings_is_answered_once(celery_worker_process):
    sent = [ping.delay(correlation_id=f"e2e-batch-{i}") for i in range(10)]

    replies = [result.get(timeout=RESULT_TIMEOUT_SECONDS) for result in sent]

    assert [reply["correlationId"] for reply in replies] == [f"e2e-batch-{i}" for i in range(10)]
    rows = TaskResult.objects.filter(task_id__in=[result.id for result in sent])
    assert rows.count() == 10
    assert set(rows.values_list("status", flat=True)) == {"SUCCESS"}
