"""Approvals: ``step.wait_for_approval``, ``approval_decide`` and ``/api/approvals/``.

Runs execute in-process through the real engine (``workflows.testing.drain``).
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from rawr_site.contract import RawrError
from tests.conftest import csrf_headers
from tests.factories import StaffUserFactory, UserFactory, issue_key
from tests.factories import staff_client as _staff
from workflows import clock as runtime_clock
from workflows import durable_function, run_cancel, temporarily_registered, trigger
from workflows.models import Approval, ApprovalStatus, Run, Step
from workflows.selectors import approval_pending_for_run, approvals_pending
from workflows.services import approval_decide
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _moved_clock(clock):
    """Due times come from the runtime's clock: tests move it instead of sleeping."""
    return clock


calls: Counter[str] = Counter()
JSON = {"content_type": "application/json"}


def _count(name: str) -> str:
    calls[name] += 1
    return name


@pytest.fixture
def functions():
    """alpha: ``t.alpha.ask`` (a step, then an approval, then a step; returns the decision);
    beta: ``t.beta.ask`` (approval with a 60 s timeout) and ``t.beta.quick`` (0.1 s)."""
    calls.clear()

    @durable_function("t.alpha.ask", capability="alpha", retries=0)
    def ask(ctx, step):
        step.run("before", _count, "before")
        decided = step.wait_for_approval(
            "approve-order",
            title=f"Ship order {ctx.input['order']}?",
            context={"order": ctx.input["order"], "lines": [1, 2]},
        )
        step.run("after", _count, "after")
        return decided

    @durable_function("t.beta.ask", capability="beta")
    def ask_beta(ctx, step):
        return step.wait_for_approval("ok", title="Beta", context=None, timeout=60)

    @durable_function("t.beta.quick", capability="beta")
    def quick(ctx, step):
        return {"got": step.wait_for_approval("ok", title="Quick", timeout=0.1)}

    with ExitStack() as stack:
        for function in (ask, ask_beta, quick):
            stack.enter_context(temporarily_registered(function))
        yield


def _parked(function_id: str = "t.alpha.ask", order: str = "o-1") -> Run:
    run = trigger(function_id, {"order": order}).run
    drain()
    run.refresh_from_db()
    assert run.status == "waiting"
    return run


def _types(run: Run) -> list[str]:
    return list(run.timeline.order_by("seq").values_list("type", flat=True))


# -- the step API -------------------------------------------------------------------------------
@pytest.mark.usefixtures("functions")
def test_wait_for_approval_parks_the_run_with_a_pending_approval_until_decided() -> None:
    run = _parked()
    approval = approval_pending_for_run(run_id=run.pk)
    assert approval is not None and approval.pk.startswith("apr_")
    assert (approval.title, approval.step_id) == ("Ship order o-1?", "approve-order")
    assert approval.context == {"order": "o-1", "lines": [1, 2]}
    assert approval.timeout_at is None and approval.workflow_id == approval.desk_id == ""
    waiting = run.timeline.get(type="run.waiting")
    assert waiting.payload["approvalId"] == approval.pk
    # Re-running executions do not open a second approval nor redo the first step.
    drain()
    assert Approval.objects.filter(run=run).count() == 1 and calls["before"] == 1

    decided = approval_decide(
        approval_id=approval.pk, decision="approve", payload={"note": "ok"}, by="user:ann"
    )
    assert decided.status == ApprovalStatus.APPROVED and decided.decided_by == "user:ann"
    drain()
    run.refresh_from_db()
    assert run.status == "completed"
    assert run.output == {"decision": "approve", "payload": {"note": "ok"}, "decidedBy": "user:ann"}
    assert calls == Counter({"before": 1, "after": 1})
    event = run.timeline.get(type="approval.decided")
    assert event.step_id == "approve-order"
    assert event.payload == {
        "approvalId": approval.pk,
        "decision": "approve",
        "by": "user:ann",
        "payload": {"note": "ok"},
    }
    types = _types(run)
    assert (
        types.index("approval.decided") < types.index("run.resumed") < types.index("run.completed")
    )
    assert approval_pending_for_run(run_id=run.pk) is None


@pytest.mark.usefixtures("functions")
def test_a_rejection_is_returned_to_the_function() -> None:
    run = _parked()
    approval = approval_pending_for_run(run_id=run.pk)
    approval_decide(approval_id=approval.pk, decision="reject", by="api_key:ab12")
    drain()
    run.refresh_from_db()
    assert run.status == "completed"
    assert run.output == {"decision": "reject", "payload": None, "decidedBy": "api_key:ab12"}
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.REJECTED


@pytest.mark.usefixtures("functions")
def test_a_second_decision_is_409_and_changes_nothing() -> None:
    run = _parked()
    approval = approval_pending_for_run(run_id=run.pk)
    approval_decide(approval_id=approval.pk, decision="approve", by="user:ann")
    seq = Run.objects.get(pk=run.pk).next_seq
    with pytest.raises(RawrError) as refused:
        approval_decide(approval_id=approval.pk, decision="reject", by="user:bob")
    assert (refused.value.code, refused.value.status) == ("APPROVAL_NOT_PENDING", 409)
    stored = Approval.objects.get(pk=approval.pk)
    assert (stored.decision, stored.decided_by) == ("approve", "user:ann")
    assert Run.objects.get(pk=run.pk).next_seq == seq


@pytest.mark.usefixtures("functions")
@pytest.mark.parametrize(
    ("approval_id", "decision", "payload", "code", "status"),
    [
        ("apr_missing", "approve", None, "APPROVAL_NOT_FOUND", 404),
        ("../etc", "approve", None, "APPROVAL_NOT_FOUND", 404),
        (None, "approved", None, "BAD_REQUEST", 400),
        (None, "", None, "BAD_REQUEST", 400),
        (None, "approve", {"bad": {1, 2}}, "BAD_REQUEST", 400),
        (None, "approve", float("nan"), "BAD_REQUEST", 400),
    ],
)
def test_bad_decisions_are_refused_and_change_nothing(
    approval_id, decision, payload, code, status
) -> None:
    run = _parked()
    approval = approval_pending_for_run(run_id=run.pk)
    seq = Run.objects.get(pk=run.pk).next_seq
    with pytest.raises(RawrError) as refused:
        approval_decide(
            approval_id=approval_id or approval.pk, decision=decision, payload=payload, by="u"
        )
    assert (refused.value.code, refused.value.status) == (code, status)
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
    assert Run.objects.get(pk=run.pk).next_seq == seq
    assert Step.objects.get(run=run, step_id="approve-order").status == "waiting"


@pytest.mark.usefixtures("functions")
def test_timeout_returns_none_and_expires_the_approval() -> None:
    run = trigger("t.beta.quick").run
    drain(now=timezone.now())  # only the start, never the wake-up (however slow this is)
    approval = approval_pending_for_run(run_id=run.pk)
    assert approval.timeout_at is not None
    runtime_clock.advance(0.12)
    drain()
    run.refresh_from_db()
    assert run.status == "completed" and run.output == {"got": None}
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.EXPIRED
    types = _types(run)
    assert "step.timed_out" in types and "approval.expired" in types
    with pytest.raises(RawrError) as late:
        approval_decide(approval_id=approval.pk, decision="approve", by="user:late")
    assert late.value.code == "APPROVAL_NOT_PENDING"


@pytest.mark.usefixtures("functions")
def test_cancelling_the_run_cancels_its_approval() -> None:
    run = _parked()
    approval = approval_pending_for_run(run_id=run.pk)
    run_cancel(run_id=run.pk, by="user:ops")
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.CANCELLED
    assert _types(Run.objects.get(pk=run.pk))[-2:] == ["approval.cancelled", "run.cancelled"]
    with pytest.raises(RawrError) as refused:
        approval_decide(approval_id=approval.pk, decision="approve", by="user:ann")
    assert refused.value.code == "APPROVAL_NOT_PENDING"
    assert Run.objects.get(pk=run.pk).status == "cancelled"


def test_a_run_that_fails_while_waiting_expires_its_approval() -> None:
    """Here the function is gone (a deploy removed it) when the wait's timeout wakes the run."""

    @durable_function("t.removed", retries=0)
    def removed(ctx, step):
        return step.wait_for_approval("ok", title="Orphaned", timeout=0.1)

    with temporarily_registered(removed):
        run = trigger("t.removed").run
        drain(now=timezone.now())  # only the start, never the wake-up
    approval = approval_pending_for_run(run_id=run.pk)
    assert approval is not None
    runtime_clock.advance(0.12)
    drain()
    run.refresh_from_db()
    assert run.status == "failed" and run.error["code"] == "FUNCTION_NOT_FOUND"
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.EXPIRED
    assert _types(run)[-2:] == ["approval.expired", "run.failed"]


def test_a_title_is_required_and_the_context_must_be_json() -> None:
    @durable_function("t.untitled", retries=0)
    def untitled(ctx, step):
        return step.wait_for_approval("ok", title=" ")

    @durable_function("t.setcontext", retries=0)
    def set_context(ctx, step):
        return step.wait_for_approval("ok", title="x", context={1, 2})

    with temporarily_registered(untitled), temporarily_registered(set_context):
        runs = [trigger("t.untitled").run, trigger("t.setcontext").run]
        drain()
    for run in runs:
        run.refresh_from_db()
        assert run.status == "failed" and run.error["code"] == "INVALID_APPROVAL"
    assert not Approval.objects.exists()


@pytest.mark.usefixtures("functions")
def test_pending_approvals_are_sorted_by_due_time_with_no_timeout_last() -> None:
    no_timeout = approval_pending_for_run(run_id=_parked().pk)
    soon = approval_pending_for_run(run_id=_parked("t.beta.ask").pk)
    Approval.objects.filter(pk=soon.pk).update(timeout_at=timezone.now() + timedelta(seconds=30))
    later = approval_pending_for_run(run_id=_parked("t.beta.ask").pk)
    assert [a.pk for a in approvals_pending()] == [soon.pk, later.pk, no_timeout.pk]
    assert [a.pk for a in approvals_pending(capabilities={"alpha"})] == [no_timeout.pk]
    assert list(approvals_pending(capabilities=set())) == []


# -- /api/approvals/ ----------------------------------------------------------------------------


def _key(*, scopes=()) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(scopes=scopes).secret}")


def _decide(client: Client, approval_id: str, body, **extra):
    return client.post(f"/api/approvals/{approval_id}/decide", body, **JSON, **extra)


@pytest.mark.usefixtures("functions")
def test_api_lists_pending_approvals_in_due_order_with_keyset_pages() -> None:
    alpha = approval_pending_for_run(run_id=_parked().pk)
    betas = [approval_pending_for_run(run_id=_parked("t.beta.ask").pk) for _ in range(3)]
    client = _staff()

    first = client.get("/api/approvals/?limit=2")
    assert first.status_code == 200, first.content
    body = first.json()
    assert [a["approvalId"] for a in body["results"]] == [b.pk for b in betas[:2]]
    assert body["previous"] is None and body["next"]
    second = client.get(body["next"]).json()
    assert [a["approvalId"] for a in second["results"]] == [betas[2].pk, alpha.pk]
    assert second["next"] is None
    back = client.get(second["previous"]).json()
    assert [a["approvalId"] for a in back["results"]] == [b.pk for b in betas[:2]]

    shown = second["results"][1]
    assert shown == {
        "approvalId": alpha.pk,
        "runId": alpha.run_id,
        "stepId": "approve-order",
        "workflowId": None,
        "deskId": None,
        "title": "Ship order o-1?",
        "status": "pending",
        "since": shown["since"],
        "timeoutAt": None,
        "context": {"order": "o-1", "lines": [1, 2]},
        "decision": None,
        "payload": None,
        "decidedBy": None,
        "decidedAt": None,
    }
    assert shown["since"].startswith(str(alpha.created_at.year))
    assert second["results"][0]["timeoutAt"] is not None
    assert client.get("/api/approvals/?cursor=garbage").status_code == 400


@pytest.mark.usefixtures("functions")
def test_api_keys_see_and_decide_only_approvals_of_their_scopes() -> None:
    alpha = approval_pending_for_run(run_id=_parked().pk)
    beta = approval_pending_for_run(run_id=_parked("t.beta.ask").pk)
    scoped = _key(scopes=["alpha"])
    listed = scoped.get("/api/approvals/").json()["results"]
    assert [a["approvalId"] for a in listed] == [alpha.pk]

    hidden = _decide(scoped, beta.pk, {"decision": "approve"})
    assert hidden.status_code == 404 and hidden.json()["code"] == "APPROVAL_NOT_FOUND"
    assert Approval.objects.get(pk=beta.pk).status == "pending"

    ok = _decide(scoped, alpha.pk, {"decision": "approve", "payload": [1, "two"]})
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "approved" and ok.json()["payload"] == [1, "two"]
    assert ok.json()["decidedBy"].startswith("api_key:")
    drain()
    assert Run.objects.get(pk=alpha.run_id).output["decision"] == "approve"


@pytest.mark.usefixtures("functions")
def test_api_decide_needs_the_permission_for_staff_and_refuses_bad_input() -> None:
    approval = approval_pending_for_run(run_id=_parked().pk)
    run = approval.run

    def unchanged() -> None:
        assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
        assert Run.objects.get(pk=run.pk).next_seq == run.next_seq

    assert Client().get("/api/approvals/").status_code == 401
    assert _decide(Client(), approval.pk, {"decision": "approve"}).status_code == 401
    outsider = Client()
    outsider.force_login(UserFactory())
    assert outsider.get("/api/approvals/").status_code == 403
    viewer = _staff("view_run")
    assert viewer.get("/api/approvals/").status_code == 200
    refused = _decide(viewer, approval.pk, {"decision": "approve"})
    assert refused.status_code == 403 and "decide_approval" in refused.json()["message"]
    unchanged()

    decider = _staff("decide_approval")
    for body in ({}, {"decision": "yes"}, {"decision": None}, ["approve"], "approve"):
        response = _decide(decider, approval.pk, body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["code"] == "BAD_REQUEST"
    malformed = decider.post(
        f"/api/approvals/{approval.pk}/decide", "{nope", content_type="application/json"
    )
    assert malformed.status_code == 400
    unchanged()
    missing = _decide(decider, "apr_nope", {"decision": "approve"})
    assert missing.status_code == 404 and missing.json()["code"] == "APPROVAL_NOT_FOUND"

    ok = _decide(decider, approval.pk, {"decision": "reject", "payload": {"why": "no"}})
    assert ok.status_code == 200 and ok.json()["decision"] == "reject"
    again = _decide(decider, approval.pk, {"decision": "approve"})
    assert again.status_code == 409 and again.json()["code"] == "APPROVAL_NOT_PENDING"
    assert decider.get("/api/approvals/").json()["results"] == []


@pytest.mark.usefixtures("functions")
def test_api_decide_with_a_session_needs_csrf() -> None:
    approval = approval_pending_for_run(run_id=_parked().pk)
    user = StaffUserFactory(is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert _decide(client, approval.pk, {"decision": "approve"}).status_code == 403
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
    response = _decide(client, approval.pk, {"decision": "approve"}, **csrf_headers(client))
    assert response.status_code == 200
    assert response.json()["decidedBy"] == f"user:{user.username}"
