"""Human-wait desks on ``step.wait_for_approval``: the approval row, ``waitingFor``, and
``approveDesk`` on top of ``approval_decide`` (inline dispatch, real engine)."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from coordination.client import coordination
from coordination.examples import example_documents
from rawr_site.contract import RawrError
from workflows import approval_decide
from workflows import clock as runtime_clock
from workflows.models import Approval, ApprovalStatus, Run
from workflows.selectors import approval_pending_for_run
from workflows.testing import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_dispatch")]


@pytest.fixture(autouse=True)
def _moved_clock(clock):
    """Due times come from the runtime's clock: tests move it instead of sleeping."""
    return clock


def _fanout(timeout: int | None = 86400) -> str:
    doc = copy.deepcopy(
        next(d for d in example_documents() if d["workflowId"] == "fanout-approval")
    )
    for desk in doc["desks"]:
        if desk["deskId"] == "approval":
            desk["runtimePolicy"] = {"timeoutSeconds": timeout} if timeout else {}
    coordination.saveWorkflow({"workflow": doc})
    run_id = coordination.queueRun(
        {"workflowId": "fanout-approval", "input": {"request": "laptop", "amount": 900}}
    ).run.run_id
    drain()
    return run_id


def test_the_human_wait_desk_opens_an_approval_labelled_with_its_desk() -> None:
    run_id = _fanout()
    approval = approval_pending_for_run(run_id=run_id)
    assert approval is not None
    assert (approval.workflow_id, approval.desk_id) == ("fanout-approval", "approval")
    assert approval.title == "Manager approval"  # the desk's name
    assert approval.step_id == "desk/approval/execute"
    assert set(approval.context) == {"status", "merged"}  # the desk's input payload
    assert set(approval.context["merged"]) == {"legal", "finance"}
    seconds = (approval.timeout_at - approval.created_at).total_seconds()
    assert 86399 <= seconds <= 86401


def test_status_says_which_desk_waits_since_when_until_when() -> None:
    run_id = _fanout()
    approval = approval_pending_for_run(run_id=run_id)
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "running"
    assert run.waiting_for is not None and run.waiting_for.desk_id == "approval"
    since = datetime.fromisoformat(run.waiting_for.since)
    assert abs((since - approval.created_at).total_seconds()) < 0.01
    assert datetime.fromisoformat(run.waiting_for.timeout_at) > since
    wire = run.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert set(wire["waitingFor"]) == {"deskId", "since", "timeoutAt"}

    coordination.approveDesk({"runId": run_id, "deskId": "approval", "decision": "approve"})
    queued = coordination.getRunStatus({"runId": run_id}).run
    assert queued.waiting_for is None
    drain()
    done = coordination.getRunStatus({"runId": run_id}).run
    assert done.status == "completed" and done.waiting_for is None
    assert "waitingFor" not in done.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_a_wait_without_timeout_has_no_timeout_at() -> None:
    run = coordination.getRunStatus({"runId": _fanout(timeout=None)}).run
    assert run.waiting_for is not None and run.waiting_for.timeout_at is None
    assert (
        "timeoutAt"
        not in run.model_dump(mode="json", by_alias=True, exclude_none=True)["waitingFor"]
    )


def test_approve_desk_records_the_caller_and_answers_with_the_timeline_event() -> None:
    run_id = _fanout()
    result = coordination.approveDesk(
        {"runId": run_id, "deskId": "approval", "decision": "approve", "payload": {"n": 1}}
    )
    event = Run.objects.get(pk=run_id).timeline.get(type="approval.decided")
    assert result.event_id == f"{run_id}-{event.seq}"
    assert event.payload["by"] == "system" and event.payload["payload"] == {"n": 1}
    approval = Approval.objects.get(run_id=run_id)
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_by == "system"


def test_deciding_the_desk_through_the_generic_service_resumes_the_run_like_approve_desk() -> None:
    run_id = _fanout()
    approval = approval_pending_for_run(run_id=run_id)
    approval_decide(approval_id=approval.pk, decision="approve", payload="ok", by="user:ann")
    drain()
    run = coordination.getRunStatus({"runId": run_id}).run
    assert run.status == "completed"
    assert run.output["received"]["approvedBy"] == "user:ann"
    assert run.output["received"]["payload"] == "ok"
    with pytest.raises(RawrError) as again:
        coordination.approveDesk({"runId": run_id, "deskId": "approval", "decision": "reject"})
    assert again.value.code == "DESK_NOT_WAITING" and again.value.data["runStatus"] == "completed"


def test_a_timed_out_desk_expires_its_approval_and_can_no_longer_be_approved() -> None:
    run_id = _fanout(timeout=1)
    approval = approval_pending_for_run(run_id=run_id)
    runtime_clock.advance(1.05)
    drain()
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.EXPIRED
    assert coordination.getRunStatus({"runId": run_id}).run.status == "failed"
    with pytest.raises(RawrError) as late:
        coordination.approveDesk({"runId": run_id, "deskId": "approval", "decision": "approve"})
    assert late.value.code == "DESK_NOT_WAITING"
