"""Bounded work in coordination: documented limits at the door, budgets inside a run.

Issue 10's reproductions: an over-limit document is a coded 400 on every surface (nothing
stored); a 2,000-desk echo chain stops at a coded limit instead of ``RecursionError`` and
its pages still render; a slow handoff condition fails its desk within the budget with
``CONDITION_BUDGET_EXCEEDED``, and a run whose condition is evaluating can be cancelled.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.urls import reverse

from coordination.client import coordination
from coordination.desks import temporarily_registered as desk_registered
from coordination.domain import limits
from coordination.models import WorkflowVersion
from rawr_site.contract import RawrError
from tests.factories import issue_key, staff_client
from workflows import run_cancel
from workflows.models import Run, Step
from workflows.testing import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_dispatch")]


def desk(desk_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "deskId": desk_id,
        "kind": "desk:analysis",
        "name": desk_id,
        "responsibility": "r",
        "domain": "limits",
        "inputSchema": {},
        "outputSchema": {},
        "memoryScope": {"persist": False},
        **overrides,
    }


def chain(workflow_id: str, count: int, **handoff_extra: Any) -> dict[str, Any]:
    ids = [f"d{i}" for i in range(count)]
    return {
        "workflowId": workflow_id,
        "name": workflow_id,
        "entryDeskId": ids[0],
        "desks": [desk(i) for i in ids],
        "handoffs": [
            {"handoffId": f"h{n}", "fromDeskId": a, "toDeskId": b, **handoff_extra}
            for n, (a, b) in enumerate(itertools.pairwise(ids))
        ],
    }


def refused(call, *args) -> RawrError:
    with pytest.raises(RawrError) as caught:
        call(*args)
    return caught.value


def deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


# --- documented limits at the door -------------------------------------------------------


def _over_limit_documents() -> dict[str, dict[str, Any]]:
    too_many = chain("too-many", limits.MAX_DESKS + 1)
    deep_schema = chain("deep-schema", 2)
    deep_schema["desks"][1]["inputSchema"] = deep(limits.MAX_SCHEMA_DEPTH + 1)
    big_schema = chain("big-schema", 2)
    big_schema["desks"][0]["outputSchema"] = {"description": "x" * limits.MAX_SCHEMA_BYTES}
    long_condition = chain("long-condition", 2, condition="a == 1 || " * 500 + "true")
    nested_condition = chain("nested-condition", 2, condition="(" * 70 + "true" + ")" * 70)
    many_refs = chain(
        "many-refs", 2, mappingRefs={f"k{i}": "$" for i in range(limits.MAX_MAPPING_REFS + 1)}
    )
    return {
        "desks": too_many,
        "schemaDepth": deep_schema,
        "schemaBytes": big_schema,
        "conditionLength": long_condition,
        "conditionNesting": nested_condition,
        "mappingRefs": many_refs,
    }


@pytest.mark.parametrize("limit", list(_over_limit_documents()))
def test_over_limit_documents_are_a_coded_400_on_every_surface(limit):
    document = _over_limit_documents()[limit]
    error = refused(coordination.saveWorkflow, {"workflow": document})
    assert (error.code, error.status) == ("WORKFLOW_LIMIT_EXCEEDED", 400)
    assert error.data["limit"] == limit and error.data["max"] == limits.LIMITS[limit]
    key = issue_key(name="limits").secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = json.dumps({"workflow": document})
    rest = client.post("/api/orpc/coordination/workflows", body, content_type="application/json")
    assert rest.status_code == 400, rest.content[:500]
    assert rest.json()["code"] == "WORKFLOW_LIMIT_EXCEEDED"
    assert rest.json()["defined"] is True  # declared by saveWorkflow in the contract
    assert rest.json()["data"]["limit"] == limit
    first_party = Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(first_party=True).secret}")
    rpc = first_party.post(
        "/rpc/coordination/saveWorkflow",
        json.dumps({"json": {"workflow": document}}),
        content_type="application/json",
    )
    assert rpc.status_code == 400 and rpc.json()["json"]["code"] == "WORKFLOW_LIMIT_EXCEEDED"
    assert not WorkflowVersion.objects.exists()


def test_validating_a_stored_over_limit_version_is_refused_not_computed():
    coordination.saveWorkflow({"workflow": chain("stored", 2)})
    row = WorkflowVersion.objects.get()
    row.document["desks"][1]["inputSchema"] = deep(200)
    row.save()
    error = refused(coordination.validateWorkflow, {"workflowId": "stored"})
    assert (error.code, error.data["limit"]) == ("WORKFLOW_LIMIT_EXCEEDED", "schemaDepth")


def test_run_input_over_the_limits_is_refused_and_nothing_is_queued():
    coordination.saveWorkflow({"workflow": chain("inputs", 2)})
    error = refused(coordination.queueRun, {"workflowId": "inputs", "input": deep(100)})
    assert (error.code, error.data["limit"]) == ("WORKFLOW_LIMIT_EXCEEDED", "runInputDepth")
    big = {"text": "x" * (limits.MAX_RUN_INPUT_BYTES + 1)}
    error = refused(coordination.queueRun, {"workflowId": "inputs", "input": big})
    assert error.data["limit"] == "runInputBytes"
    assert not Run.objects.exists()


# --- the 2,000-desk echo chain -------------------------------------------------------------


def test_a_2000_desk_echo_chain_fails_with_a_coded_limit_and_its_pages_render():
    started = time.perf_counter()
    saved = coordination.saveWorkflow({"workflow": chain("echo-2000", 2000)}).workflow
    assert saved["version"] == 1
    run_id = coordination.queueRun({"workflowId": "echo-2000", "input": {"n": 0}}).run.run_id
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "failed"
    assert "nested deeper than 64 levels" in run.error
    stored = Run.objects.get(pk=run_id)
    assert stored.error["code"] == "DESK_OUTPUT_TOO_DEEP"
    # No step is left running in the failed run.
    assert not Step.objects.filter(run_id=run_id, status="running").exists()
    timeline = coordination.getRunTimeline({"runId": run_id}).timeline
    failed = [event for event in timeline if event.type == "desk.failed"]
    # Each echo nests its input one level deeper: d63 is the first over 64 levels.
    assert [event.desk_id for event in failed] == ["d63"]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(name='ops').secret}")
    for url in (
        f"/api/runs/{run_id}/timeline/",
        f"/api/runs/{run_id}/",
        f"/api/orpc/coordination/runs/{run_id}/timeline",
    ):
        assert api.get(url).status_code == 200, url
    page = staff_client(superuser=True).get(
        reverse("admin:workflows_run_change", args=[quote(run_id)])
    )
    assert page.status_code == 200
    assert time.perf_counter() - started < 60


# --- condition budget ----------------------------------------------------------------------

BIG_LIST = list(range(100_000))
#: 40 scans of a 100,000-item list: seconds of work for the unbudgeted evaluator.
SLOW_CONDITION = " && ".join(f"{99_999 - i} in items" for i in range(40))


def _slow_workflow(workflow_id: str) -> dict[str, Any]:
    document = chain(workflow_id, 2, condition=SLOW_CONDITION)
    document["desks"][0]["handlerRef"] = "limits.big-list"
    return document


def _big_list(call) -> dict[str, Any]:
    return {"items": BIG_LIST}


@pytest.fixture
def big_list_desk():
    with desk_registered(_big_list, ref="limits.big-list"):
        yield


def test_a_slow_condition_fails_its_desk_with_a_coded_error_inside_the_budget(
    settings, big_list_desk
):
    settings.RAWR_COORDINATION_CONDITION_BUDGET_SECONDS = 0.5
    coordination.saveWorkflow({"workflow": _slow_workflow("slow")})
    run_id = coordination.queueRun({"workflowId": "slow", "input": {}}).run.run_id
    started = time.perf_counter()
    drain()
    elapsed = time.perf_counter() - started
    run = Run.objects.get(pk=run_id)
    assert run.status == "failed"
    assert run.error["code"] == "CONDITION_BUDGET_EXCEEDED", run.error
    assert elapsed < 0.5 + 2.0, f"drain took {elapsed:.2f}s"
    timeline = coordination.getRunTimeline({"runId": run_id}).timeline
    assert [(e.type, e.desk_id) for e in timeline if e.type.startswith("desk.")][-1] == (
        "desk.failed",
        "d1",
    )


def test_a_run_evaluating_a_slow_condition_can_be_cancelled(settings, big_list_desk):
    settings.RAWR_COORDINATION_CONDITION_BUDGET_SECONDS = 5.0
    coordination.saveWorkflow({"workflow": _slow_workflow("slow-cancel")})
    run_id = coordination.queueRun({"workflowId": "slow-cancel", "input": {}}).run.run_id

    def cancel_when_routing() -> None:
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if Step.objects.filter(run_id=run_id, step_id="desk/d0/completed").exists():
                    break
                time.sleep(0.02)
            time.sleep(0.2)  # inside the condition now
            run_cancel(run_id=run_id, by="operator")
        finally:
            connection.close()

    canceller = threading.Thread(target=cancel_when_routing)
    canceller.start()
    started = time.perf_counter()
    drain()
    elapsed = time.perf_counter() - started
    canceller.join()
    run = Run.objects.get(pk=run_id)
    assert run.status == "cancelled", (run.status, run.error)
    events = list(run.timeline.order_by("seq").values_list("type", flat=True))
    # Noticed while the condition evaluated: d1 is marked as stopped, then the run ends.
    assert events[-3:] == ["run.cancel_requested", "desk.failed", "run.cancelled"], events
    # Stopped while routing to d1: it never started.
    assert not Step.objects.filter(run_id=run_id, step_id="desk/d1/started").exists()
    assert elapsed < 5.0, f"the cancel took {elapsed:.2f}s to apply"
    assert coordination.getRunStatus({"runId": run_id}).run.error == "cancelled by operator"
