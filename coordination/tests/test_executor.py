"""The desk-graph executor on the real engine (inline dispatch), through the contract."""

from __future__ import annotations

import copy

import pytest
from django.contrib.admin.utils import quote

from coordination.client import coordination
from coordination.desks import temporarily_registered as desk_registered
from coordination.examples import example_documents
from coordination.selectors import memory_read
from rawr_site.contract import RawrError
from workflows import clock as runtime_clock
from workflows.models import Run
from workflows.testing import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_dispatch")]


@pytest.fixture(autouse=True)
def _moved_clock(clock):
    """Due times come from the runtime's clock: tests move it instead of sleeping."""
    return clock


def _example(workflow_id: str) -> dict:
    return copy.deepcopy(next(d for d in example_documents() if d["workflowId"] == workflow_id))


def _steps(run_id: str) -> list[str]:
    return list(
        Run.objects.get(pk=run_id).steps.order_by("position").values_list("step_id", flat=True)
    )


def _timeline(run_id: str) -> list[tuple[str, str | None]]:
    timeline = coordination.getRunTimeline({"runId": run_id}).timeline
    return [(event.type, event.desk_id) for event in timeline]


def test_linear_workflow_runs_desks_in_order_with_phase_steps() -> None:
    saved = coordination.saveWorkflow({"workflow": _example("linear-review")}).workflow
    queued = coordination.queueRun({"workflowId": "linear-review", "input": {"ticket": "T-1"}})
    run_id = queued.run.run_id
    assert queued.run.status == "queued" and queued.event_ids == [f"{run_id}-1"]
    assert queued.run.workflow_version == saved["version"]
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "completed"
    assert run.output["deskId"] == "review" and run.output["status"] == "ok"
    assert run.output["received"]["deskId"] == "execute"
    assert run.output["received"]["received"]["received"] == {"ticket": "T-1"}
    doc = _example("linear-review")
    expected = []
    for desk in doc["desks"]:
        phases = ["started", "memory-read", "execute"]
        if desk["memoryScope"]["persist"]:
            phases.append("memory-write")
        expected += [f"desk/{desk['deskId']}/{phase}" for phase in [*phases, "completed"]]
    assert _steps(run_id) == ["workflow/load", *expected]
    assert _timeline(run_id) == [
        ("run.started", None),
        ("desk.started", "analyze"),
        ("desk.completed", "analyze"),
        ("desk.started", "execute"),
        ("desk.completed", "execute"),
        ("desk.started", "review"),
        ("desk.completed", "review"),
        ("run.completed", None),
    ]
    links = {link.label: link.url for link in run.trace_links}
    # Django's admin escapes "_" in ids ("run_…" -> "run_5F…"); the link must round-trip.
    assert any(
        url.endswith(f"/admin/workflows/run/{quote(run_id)}/change/") for url in links.values()
    )


def test_run_pins_the_version_it_started_with() -> None:
    coordination.saveWorkflow({"workflow": _example("linear-review")})
    run_id = coordination.queueRun({"workflowId": "linear-review"}).run.run_id
    changed = _example("linear-review")
    changed["name"] = "renamed"
    assert coordination.saveWorkflow({"workflow": changed}).workflow["version"] == 2
    drain()
    assert coordination.getRunStatus({"runId": run_id}).run.workflow_version == 1


def test_fanout_waits_at_human_wait_until_approved_then_completes_with_merged_output() -> None:
    coordination.saveWorkflow({"workflow": _example("fanout-approval")})
    run_id = coordination.queueRun(
        {"workflowId": "fanout-approval", "input": {"order": 7}}
    ).run.run_id
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "running"
    assert Run.objects.get(pk=run_id).status == "waiting"
    with pytest.raises(RawrError) as early:
        coordination.approveDesk({"runId": run_id, "deskId": "ship", "decision": "approve"})
    assert early.value.code == "DESK_NOT_WAITING"
    approved = coordination.approveDesk(
        {"runId": run_id, "deskId": "approval", "decision": "approve", "payload": {"note": "ok"}}
    )
    assert approved.decision == "approve"
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "completed"
    ship_input = run.output["received"]
    assert ship_input["status"] == "approved" and ship_input["payload"] == {"note": "ok"}
    merged = ship_input["received"]["merged"]
    assert set(merged) == {"legal", "finance"}
    order = [desk for kind, desk in _timeline(run_id) if kind == "desk.completed"]
    assert order.index("merge") > max(order.index("legal"), order.index("finance"))
    assert order[-2:] == ["approval", "ship"]
    memory = memory_read(workflow_id="fanout-approval", workflow_version=1, desk_id="ship")
    assert memory == {"ship:lastOutput": run.output}


def test_rejected_approval_fails_the_run_with_the_decision_recorded() -> None:
    coordination.saveWorkflow({"workflow": _example("fanout-approval")})
    run_id = coordination.queueRun({"workflowId": "fanout-approval"}).run.run_id
    drain()
    coordination.approveDesk(
        {
            "runId": run_id,
            "deskId": "approval",
            "decision": "reject",
            "payload": {"reason": "too costly"},
        }
    )
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "failed" and "rejected" in run.error
    failed = [
        e
        for e in coordination.getRunTimeline({"runId": run_id}).timeline
        if e.type == "desk.failed"
    ]
    assert [e.desk_id for e in failed] == ["approval"]
    stored = Run.objects.get(pk=run_id).timeline.get(type="desk.failed").payload
    assert stored["decision"] == "reject" and stored["payload"] == {"reason": "too costly"}
    assert _timeline(run_id)[-1] == ("run.failed", None)


def test_human_wait_timeout_fails_the_desk() -> None:
    doc = _example("fanout-approval")
    for desk in doc["desks"]:
        if desk["deskId"] == "approval":
            desk["runtimePolicy"] = {"timeoutSeconds": 1}
    coordination.saveWorkflow({"workflow": doc})
    run_id = coordination.queueRun({"workflowId": "fanout-approval"}).run.run_id
    drain()
    runtime_clock.advance(1.05)
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "failed" and "timed out" in run.error


def test_registered_handler_output_is_checked_against_the_output_schema() -> None:
    doc = _example("linear-review")
    execute = next(d for d in doc["desks"] if d["deskId"] == "execute")
    coordination.saveWorkflow({"workflow": doc})

    def good(call):
        assert call.desk_id == "execute" and call.input["deskId"] == "analyze"
        return {
            "status": "ok",
            "ticket": "T-9",
            "changes": ["a.py"],
            "attempts": 1,
            "handledBy": "good",
        }

    with desk_registered(good, kind=execute["kind"], domain=execute["domain"]):
        run_id = coordination.queueRun({"workflowId": "linear-review"}).run.run_id
        drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "completed", run.error
    assert run.output["received"]["handledBy"] == "good"

    with desk_registered(
        lambda call: {"wrong": True}, kind=execute["kind"], domain=execute["domain"]
    ):
        run_id = coordination.queueRun({"workflowId": "linear-review"}).run.run_id
        drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "failed" and "does not match its outputSchema" in run.error
    assert ("desk.failed", "execute") in _timeline(run_id)


def test_condition_false_skips_the_target_desk() -> None:
    doc = _example("linear-review")
    doc["handoffs"][-1]["condition"] = 'status == "never"'
    coordination.saveWorkflow({"workflow": doc})
    run_id = coordination.queueRun({"workflowId": "linear-review"}).run.run_id
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "completed" and run.output["deskId"] == "execute"
    assert ("desk.started", "review") not in _timeline(run_id)


def test_queue_run_with_a_caller_run_id_is_idempotent() -> None:
    coordination.saveWorkflow({"workflow": _example("linear-review")})
    first = coordination.queueRun({"workflowId": "linear-review", "runId": "my-run-1"})
    again = coordination.queueRun({"workflowId": "linear-review", "runId": "my-run-1"})
    assert first.run.run_id == again.run.run_id == "my-run-1"
    assert Run.objects.filter(function_id="coordination.run").count() == 1


@pytest.mark.parametrize(
    ("procedure", "payload", "code"),
    [
        ("getWorkflow", {"workflowId": "bad id!"}, "INVALID_WORKFLOW_ID"),
        ("getWorkflow", {"workflowId": "nope"}, "WORKFLOW_NOT_FOUND"),
        ("validateWorkflow", {"workflowId": "nope"}, "WORKFLOW_NOT_FOUND"),
        ("queueRun", {"workflowId": "nope"}, "WORKFLOW_NOT_FOUND"),
        ("queueRun", {"workflowId": "linear-review", "runId": "../x"}, "INVALID_RUN_ID"),
        ("getRunStatus", {"runId": "missing"}, "RUN_NOT_FOUND"),
        ("getRunStatus", {"runId": "a b"}, "INVALID_RUN_ID"),
        ("getRunTimeline", {"runId": "missing"}, "RUN_NOT_FOUND"),
        (
            "approveDesk",
            {"runId": "missing", "deskId": "d", "decision": "approve"},
            "RUN_NOT_FOUND",
        ),
        ("approveDesk", {"runId": "x", "deskId": "d", "decision": "maybe"}, "BAD_REQUEST"),
        ("saveWorkflow", {"workflow": {"workflowId": "x"}}, "BAD_REQUEST"),
    ],
)
def test_bad_input_gets_a_coded_error_and_stores_nothing(procedure, payload, code) -> None:
    coordination.saveWorkflow({"workflow": _example("linear-review")})
    runs_before = Run.objects.count()
    with pytest.raises(RawrError) as error:
        getattr(coordination, procedure)(payload)
    assert error.value.code == code
    assert Run.objects.count() == runs_before
    assert len(coordination.listWorkflows().workflows) == 1


def test_invalid_document_is_refused_with_the_validation_result() -> None:
    doc = _example("linear-review")
    doc["desks"][1]["kind"] = "desk:unknown"
    with pytest.raises(RawrError) as error:
        coordination.saveWorkflow({"workflow": doc})
    assert error.value.code == "WORKFLOW_VALIDATION_FAILED" and error.value.status == 400
    assert error.value.data["ok"] is False
    assert [e["code"] for e in error.value.data["errors"]] == ["UNKNOWN_DESK_KIND"]
    assert coordination.listWorkflows().workflows == []
