"""Stored values no view can choke on: hostile JSON written straight into the tables.

A value that got in before the limits existed (or by any path that skips them) must
still render: every page and API that shows stored data answers 200 with a truncated,
depth-limited picture of it, never a 500.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.urls import reverse

from coordination.client import coordination
from coordination.examples import example_documents
from tests.factories import issue_key, staff_client
from workflows.models import Run
from workflows.testing import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_dispatch")]

DEEP = 2000


def deep_json_text(depth: int = DEEP) -> str:
    """``{"a": {"a": ... 1 ...}}`` nested ``depth`` times, as text (``json.dumps`` would
    itself hit the recursion limit)."""
    return '{"a": ' * depth + "1" + "}" * depth


def _store(table: str, column: str, text: str, where: str, arg) -> None:
    """Write ``text`` into the last few rows matching (enough for every view to meet it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s::jsonb WHERE id IN "
            f"(SELECT id FROM {table} WHERE {where} = %s ORDER BY id DESC LIMIT 4)",
            [text, arg],
        )


HOSTILE = {
    "deep": deep_json_text(),
    "big": json.dumps({"text": "x" * 5_000_000}),
    "nul-lookalike": json.dumps({"text": "\\u0000 and \\x00", "list": ["\\u0000"] * 10}),
}


@pytest.fixture
def finished_run() -> Run:
    document = next(d for d in example_documents() if d["workflowId"] == "linear-review")
    coordination.saveWorkflow({"workflow": document})
    run_id = coordination.queueRun({"workflowId": "linear-review", "input": {"t": 1}}).run.run_id
    drain()
    run = Run.objects.get(pk=run_id)
    assert run.status == "completed"
    return run


def _poison(run: Run, text: str) -> None:
    for column in ("input", "output", "error"):
        _store("workflows_run", column, text, "id", run.pk)
    for column in ("output", "error"):
        _store("workflows_step", column, text, "run_id", run.pk)
    _store("workflows_timelineevent", "payload", text, "run_id", run.pk)
    _store("coordination_deskmemory", "data", text, "workflow_id", "linear-review")


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_stored_values_render(finished_run, kind):
    _poison(finished_run, HOSTILE[kind])
    run_id = finished_run.pk
    admin = staff_client(superuser=True)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(name='ops').secret}")
    urls = [
        (admin, reverse("admin:workflows_run_change", args=[quote(run_id)])),
        (admin, reverse("admin:workflows_run_changelist")),
        (admin, reverse("admin:workflows_run_live", args=[quote(run_id)])),
        (admin, reverse("admin:workflows_run_raw", args=[quote(run_id)]) + "?part=output"),
        (api, f"/api/runs/{run_id}/"),
        (api, f"/api/runs/{run_id}/timeline/"),
        (api, f"/api/runs/{run_id}/steps/"),
        (api, f"/api/orpc/coordination/runs/{run_id}"),
        (api, f"/api/orpc/coordination/runs/{run_id}/timeline"),
    ]
    for client, url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:2000])
        if "/raw/" not in url:  # the raw view is the one that serves all of a value
            assert len(response.content) < 2_000_000, url
    shown = api.get(f"/api/orpc/coordination/runs/{run_id}").json()["run"]
    if kind == "deep":
        # Too deep to decode: a marker that says so, with the start of the stored text.
        assert shown["input"] is None  # the input is not an object: no workflow, no input
        assert "not decoded" in json.dumps(api.get(f"/api/runs/{run_id}/").json()["output"])
    elif kind == "big":
        text = api.get(f"/api/runs/{run_id}/").json()["output"]["text"]
        assert text.startswith("xxx") and text.endswith("chars)") and len(text) < 100_000
    else:
        assert api.get(f"/api/runs/{run_id}/").json()["output"]["list"][0] == "\\u0000"
    page = admin.get(reverse("admin:workflows_run_change", args=[quote(run_id)]))
    assert "Run " in page.content.decode()


@pytest.mark.parametrize("kind", ["deep", "big"])
def test_a_waiting_run_with_a_hostile_approval_context_renders(kind):
    document = next(d for d in example_documents() if d["workflowId"] == "fanout-approval")
    coordination.saveWorkflow({"workflow": document})
    run_id = coordination.queueRun({"workflowId": "fanout-approval", "input": {}}).run.run_id
    drain()
    assert Run.objects.get(pk=run_id).status == "waiting"
    _store("workflows_approval", "context", HOSTILE[kind], "run_id", run_id)
    admin = staff_client(superuser=True)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(name='ops').secret}")
    page = admin.get(reverse("admin:workflows_run_change", args=[quote(run_id)]))
    assert page.status_code == 200 and len(page.content) < 2_000_000
    status = api.get(f"/api/orpc/coordination/runs/{run_id}")
    assert status.status_code == 200, status.content[:500]
    assert status.json()["run"]["waitingFor"]["deskId"]
