"""Bad input to coordination over both HTTP surfaces: a coded 4xx JSON error, nothing stored.

Every case goes through ``/rpc/coordination/<procedure>`` (RPC envelope, first-party
service token) AND ``/api/orpc/coordination/...`` (the published REST route, an external
key), built from the contract the way RPCLink and OpenAPILink build requests: path params
``encodeURIComponent``-ed into the route, the rest as the JSON body (none at all when
nothing is left). After each refused call, the stored workflows, runs, run steps,
timelines and sent events are exactly what they were.

Runs are dispatched inline (kept in this process, never sent to a broker); only the test
that needs a run parked at a human-wait desk drains them (``transaction=True``).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from coordination.client import coordination
from coordination.contract import contract
from coordination.examples import example_documents
from coordination.models import Desk, DeskMemory, Handoff, WorkflowVersion
from tests.conftest import csrf_headers
from tests.factories import UserFactory, issue_key
from workflows.models import (
    Approval,
    ApprovalStatus,
    Event,
    Run,
    RunStatus,
    Step,
    StepStatus,
    TimelineEvent,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_dispatch")]

LINEAR = "linear-review"
FANOUT = "fanout-approval"
QUEUED_RUN = "coord-http-queued"
ERROR_KEYS = {"defined", "code", "status", "message", "data"}
SURFACES = ("rpc", "api")
PROCEDURES = {proc.name: proc for proc in contract}


class Surfaces:
    """One coordination procedure called over either HTTP surface, as the oRPC links do."""

    def __init__(self, auth: dict[str, str] | None = None) -> None:
        self.client = Client()
        self.auth = auth or {
            "rpc": f"Bearer {issue_key(name='coord service', first_party=True).secret}",
            "api": f"Bearer {issue_key(name='coord integrator').secret}",
        }

    def another_client(self) -> Surfaces:
        """Same keys, own test client (one per thread)."""
        return Surfaces(self.auth)

    def headers(self, surface: str) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": self.auth[surface]}

    def call(self, surface: str, procedure: str, payload: dict[str, Any]):
        proc = PROCEDURES[procedure]
        headers = self.headers(surface)
        if surface == "rpc":
            return self.client.post(
                proc.rpc_path,
                json.dumps({"json": payload}),
                content_type="application/json",
                **headers,
            )
        rest = dict(payload)
        path = proc.published_path
        for name in proc.path_params:
            # encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( )
            path = path.replace(f"{{{name}}}", quote(str(rest.pop(name)), safe="!~*'()"))
        if proc.method == "GET":
            assert not rest, "coordination GET routes take path params only"
            return self.client.get(path, **headers)
        body = json.dumps(rest).encode() if rest else b""
        # No body: no content type either (RequestFactory.generic leaves it out).
        return self.client.generic(
            proc.method, path, body, content_type="application/json", **headers
        )

    def ok(self, surface: str, procedure: str, payload: dict[str, Any]) -> Any:
        response = self.call(surface, procedure, payload)
        assert response.status_code == 200, response.content
        body = response.json()
        return body["json"] if surface == "rpc" else body


class SessionSurfaces(Surfaces):
    """Both surfaces as a signed-in browser user (an MFE): session cookie + CSRF header."""

    def __init__(self, user) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(user)
        self.csrf = csrf_headers(self.client)

    def headers(self, surface: str) -> dict[str, str]:
        return dict(self.csrf)


@pytest.fixture
def http() -> Surfaces:
    return Surfaces()


def _example(workflow_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for d in example_documents() if d["workflowId"] == workflow_id))


@pytest.fixture
def stored() -> None:
    """Both example workflows (version 1) and one queued, never executed run."""
    coordination.saveWorkflow({"workflow": _example(LINEAR)})
    coordination.saveWorkflow({"workflow": _example(FANOUT)})
    coordination.queueRun({"workflowId": FANOUT, "runId": QUEUED_RUN})


def _counts() -> dict[str, int]:
    models = (WorkflowVersion, Desk, Handoff, DeskMemory, Run, Step, TimelineEvent, Event)
    return {model.__name__: model.objects.count() for model in models}


def _error(response, surface: str, status: int, code: str) -> dict[str, Any]:
    """The oRPC error object (unwrapped from the RPC envelope), checked key by key."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    if surface == "rpc":
        assert set(body) == {"json"}, body
        body = body["json"]
    assert set(body) <= ERROR_KEYS and {"defined", "code", "status", "message"} <= set(body)
    assert (body["code"], body["status"]) == (code, status), body
    assert isinstance(body["message"], str) and body["message"]
    return body


def _refused(
    http: Surfaces,
    surface: str,
    procedure: str,
    payload: dict[str, Any],
    status: int,
    code: str,
) -> dict[str, Any]:
    before = _counts()
    body = _error(http.call(surface, procedure, payload), surface, status, code)
    assert _counts() == before, f"{procedure} {payload!r} changed stored data"
    return body


def _issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    issues = body["data"]["issues"]
    assert issues, body
    for issue in issues:
        assert isinstance(issue["message"], str) and issue["message"], issue
        assert isinstance(issue["path"], list), issue
    return issues


# -- unsafe ids ----------------------------------------------------------------------------------
LONG = 129  # one past the 128 characters a safe id may have

UNSAFE_IDS = [
    # (id, procedure, payload, code, the data echoing the id)
    ("workflow-space", "getWorkflow", {"workflowId": "bad id"}, "INVALID_WORKFLOW_ID"),
    ("workflow-bang", "getWorkflow", {"workflowId": "bad!"}, "INVALID_WORKFLOW_ID"),
    ("workflow-unicode", "getWorkflow", {"workflowId": "wörkflow"}, "INVALID_WORKFLOW_ID"),
    ("workflow-129", "getWorkflow", {"workflowId": "w" * LONG}, "INVALID_WORKFLOW_ID"),
    ("workflow-dot-first", "getWorkflow", {"workflowId": ".hidden"}, "INVALID_WORKFLOW_ID"),
    ("validate-space", "validateWorkflow", {"workflowId": "a b"}, "INVALID_WORKFLOW_ID"),
    ("validate-129", "validateWorkflow", {"workflowId": "v" * LONG}, "INVALID_WORKFLOW_ID"),
    ("queue-workflow-129", "queueRun", {"workflowId": "q" * LONG}, "INVALID_WORKFLOW_ID"),
    ("queue-workflow-unicode", "queueRun", {"workflowId": "ü"}, "INVALID_WORKFLOW_ID"),
    ("queue-run-dotdot", "queueRun", {"workflowId": LINEAR, "runId": "../x"}, "INVALID_RUN_ID"),
    ("queue-run-space", "queueRun", {"workflowId": LINEAR, "runId": "a b"}, "INVALID_RUN_ID"),
    ("queue-run-129", "queueRun", {"workflowId": LINEAR, "runId": "r" * LONG}, "INVALID_RUN_ID"),
    ("queue-run-unicode", "queueRun", {"workflowId": LINEAR, "runId": "rün"}, "INVALID_RUN_ID"),
    ("queue-run-newline", "queueRun", {"workflowId": LINEAR, "runId": "r1\n"}, "INVALID_RUN_ID"),
    ("status-space", "getRunStatus", {"runId": "a b"}, "INVALID_RUN_ID"),
    ("status-129", "getRunStatus", {"runId": "s" * LONG}, "INVALID_RUN_ID"),
    ("timeline-unicode", "getRunTimeline", {"runId": "ü"}, "INVALID_RUN_ID"),
    (
        "approve-run-space",
        "approveDesk",
        {"runId": "a b", "deskId": "approval", "decision": "approve"},
        "INVALID_RUN_ID",
    ),
    (
        "approve-desk-space",
        "approveDesk",
        {"runId": QUEUED_RUN, "deskId": "bad desk", "decision": "approve"},
        "INVALID_DESK_ID",
    ),
    (
        "approve-desk-129",
        "approveDesk",
        {"runId": QUEUED_RUN, "deskId": "d" * LONG, "decision": "approve"},
        "INVALID_DESK_ID",
    ),
]
ECHOED = {
    "INVALID_WORKFLOW_ID": "workflowId",
    "INVALID_RUN_ID": "runId",
    "INVALID_DESK_ID": "deskId",
}


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("procedure", "payload", "code"),
    [case[1:] for case in UNSAFE_IDS],
    ids=[case[0] for case in UNSAFE_IDS],
)
@pytest.mark.usefixtures("stored")
def test_unsafe_ids_are_refused_with_a_declared_error(http, surface, procedure, payload, code):
    body = _refused(http, surface, procedure, payload, 400, code)
    assert body["defined"] is True
    key = ECHOED[code]
    assert body["data"] == {key: payload[key]}


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_ids_of_128_characters_are_safe(http, surface) -> None:
    body = _refused(
        http, surface, "getWorkflow", {"workflowId": "w" * 128}, 404, "WORKFLOW_NOT_FOUND"
    )
    assert body["defined"] is True
    body = _refused(http, surface, "getRunStatus", {"runId": "r" * 128}, 404, "RUN_NOT_FOUND")
    assert body["defined"] is True


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_saving_a_document_with_an_unsafe_workflow_id_is_a_validation_failure(http, surface):
    for workflow_id in ("bad id", "w" * LONG, "wörkflow"):
        document = _example(LINEAR)
        document["workflowId"] = workflow_id
        body = _refused(
            http, surface, "saveWorkflow", {"workflow": document}, 400, "WORKFLOW_VALIDATION_FAILED"
        )
        assert body["defined"] is True
        assert body["data"]["ok"] is False
        assert [e["code"] for e in body["data"]["errors"]] == ["INVALID_WORKFLOW_ID_FORMAT"]


RUN_ID_WITH_SLASH = [
    ("getRunStatus", {"runId": "../x"}),
    ("getRunTimeline", {"runId": "a/b"}),
    ("approveDesk", {"runId": "../x", "deskId": "approval", "decision": "approve"}),
]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(("procedure", "payload"), RUN_ID_WITH_SLASH)
@pytest.mark.usefixtures("stored")
def test_run_id_with_a_slash_is_refused(http, surface, procedure, payload) -> None:
    """On REST the runId is a path param (``..%2Fx``): still a JSON 4xx, nothing stored."""
    before = _counts()
    response = http.call(surface, procedure, payload)
    assert 400 <= response.status_code < 500, response.content
    envelope = response.json()
    code = (envelope.get("json", {}) if surface == "rpc" else envelope).get("code")
    body = _error(response, surface, response.status_code, code)
    assert _counts() == before
    if surface == "rpc":
        assert (body["code"], body["defined"]) == ("INVALID_RUN_ID", True)


@pytest.mark.parametrize(("procedure", "payload"), RUN_ID_WITH_SLASH)
@pytest.mark.usefixtures("stored")
def test_run_id_with_a_slash_in_a_rest_path_is_invalid_run_id(http, procedure, payload):
    body = _refused(http, "api", procedure, payload, 400, "INVALID_RUN_ID")
    assert body["defined"] is True and body["data"] == {"runId": payload["runId"]}


# -- malformed documents -----------------------------------------------------------------------
def _without(key: str) -> Callable[[dict], Any]:
    def change(doc: dict) -> dict:
        del doc[key]
        return doc

    return change


def _with(key: str, value: Any) -> Callable[[dict], Any]:
    def change(doc: dict) -> dict:
        doc[key] = value
        return doc

    return change


def _first_desk_without(key: str) -> Callable[[dict], Any]:
    def change(doc: dict) -> dict:
        del doc["desks"][0][key]
        return doc

    return change


MALFORMED = [
    # (id, change to the example, issue paths inside the document)
    ("missing-desks", _without("desks"), [["desks"]]),
    ("desks-a-string", _with("desks", "analyze,execute"), [["desks"]]),
    ("desks-an-object", _with("desks", {"analyze": {}}), [["desks"]]),
    ("desks-null", _with("desks", None), [["desks"]]),
    ("name-a-number", _with("name", 5), [["name"]]),
    ("name-a-list", _with("name", ["Linear"]), [["name"]]),
    ("missing-handoffs", _without("handoffs"), [["handoffs"]]),
    ("missing-workflow-id", _without("workflowId"), [["workflowId"]]),
    ("desk-without-kind", _first_desk_without("kind"), [["desks", 0, "kind"]]),
    ("version-a-string", _with("version", "1"), [["version"]]),
]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("change", "paths"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
@pytest.mark.usefixtures("stored")
def test_malformed_document_is_bad_request_with_issues(http, surface, change, paths) -> None:
    document = change(_example(LINEAR))
    body = _refused(http, surface, "saveWorkflow", {"workflow": document}, 400, "BAD_REQUEST")
    assert body["defined"] is False
    issues = _issues(body)
    # Paths end with the document's own path (whether or not prefixed with "workflow").
    assert [issue["path"][-len(path) :] for issue, path in zip(issues, paths, strict=True)] == (
        paths
    )
    assert all(issue.get("code") for issue in issues)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("workflow", "message"),
    [("not a document", "Input should be a valid dictionary"), ([1, 2], None)],
)
@pytest.mark.usefixtures("stored")
def test_workflow_that_is_not_an_object_is_bad_request(http, surface, workflow, message) -> None:
    body = _refused(http, surface, "saveWorkflow", {"workflow": workflow}, 400, "BAD_REQUEST")
    issues = _issues(body)
    assert [issue["path"] for issue in issues] == [["workflow"]]
    if message is not None:
        assert issues[0]["message"] == message


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_save_without_a_workflow_is_bad_request(http, surface) -> None:
    body = _refused(http, surface, "saveWorkflow", {}, 400, "BAD_REQUEST")
    assert [issue["path"] for issue in _issues(body)] == [["workflow"]]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_malformed_document_issue_paths_start_at_the_input(http, surface) -> None:
    document = _example(LINEAR)
    document["name"] = 5
    body = _refused(http, surface, "saveWorkflow", {"workflow": document}, 400, "BAD_REQUEST")
    assert [issue["path"] for issue in _issues(body)] == [["workflow", "name"]]


# -- semantic validation ----------------------------------------------------------------------
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_unknown_desk_kind_is_workflow_validation_failed(http, surface) -> None:
    document = _example(LINEAR)
    document["desks"][1]["kind"] = "desk:unknown"
    body = _refused(
        http, surface, "saveWorkflow", {"workflow": document}, 400, "WORKFLOW_VALIDATION_FAILED"
    )
    assert body["defined"] is True
    assert body["data"]["ok"] is False
    [error] = body["data"]["errors"]
    assert (error["code"], error["deskId"]) == ("UNKNOWN_DESK_KIND", "execute")
    assert "desk:unknown" in error["message"]

    # Every unknown kind is reported, each with its desk, in document order.
    document = _example(FANOUT)
    document["desks"][0]["kind"] = "analysis"
    document["desks"][4]["kind"] = "desk:approval"
    body = _refused(
        http, surface, "saveWorkflow", {"workflow": document}, 400, "WORKFLOW_VALIDATION_FAILED"
    )
    assert [(e["code"], e["deskId"]) for e in body["data"]["errors"]] == [
        ("UNKNOWN_DESK_KIND", "intake"),
        ("UNKNOWN_DESK_KIND", "approval"),
    ]
    # The stored version is untouched: still version 1 with its own kinds.
    stored = http.ok(surface, "getWorkflow", {"workflowId": FANOUT})["workflow"]
    assert stored["version"] == 1 and stored["desks"][0]["kind"] == "desk:analysis"


# -- approvals -----------------------------------------------------------------------------------
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_approving_a_desk_of_a_queued_run_is_desk_not_waiting(http, surface) -> None:
    for desk_id in ("approval", "ship", "no-such-desk"):
        for decision in ("approve", "reject"):
            payload = {"runId": QUEUED_RUN, "deskId": desk_id, "decision": decision}
            body = _refused(http, surface, "approveDesk", payload, 409, "DESK_NOT_WAITING")
            assert body["defined"] is True
            assert body["data"] == {"runId": QUEUED_RUN, "deskId": desk_id, "runStatus": "queued"}
    body = _refused(
        http,
        surface,
        "approveDesk",
        {"runId": "never-queued", "deskId": "approval", "decision": "approve"},
        404,
        "RUN_NOT_FOUND",
    )
    assert body["data"] == {"runId": "never-queued"}


BAD_DECISIONS = [
    ("maybe", {"decision": "maybe"}),
    ("upper-case", {"decision": "APPROVE"}),
    ("approved", {"decision": "approved"}),
    ("boolean", {"decision": True}),
    ("null", {"decision": None}),
    ("missing", {"payload": {"note": "no decision"}}),
]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    "extra", [case[1] for case in BAD_DECISIONS], ids=[case[0] for case in BAD_DECISIONS]
)
@pytest.mark.usefixtures("stored")
def test_bad_decision_is_bad_request(http, surface, extra) -> None:
    payload = {"runId": QUEUED_RUN, "deskId": "approval", **extra}
    body = _refused(http, surface, "approveDesk", payload, 400, "BAD_REQUEST")
    assert body["defined"] is False
    assert [issue["path"] for issue in _issues(body)] == [["decision"]]


@pytest.mark.django_db(transaction=True)
def test_only_the_waiting_desk_of_a_waiting_run_can_be_approved(http) -> None:
    from workflows.testing import drain

    coordination.saveWorkflow({"workflow": _example(FANOUT)})
    run_id = coordination.queueRun({"workflowId": FANOUT, "runId": "coord-http-wait"}).run.run_id
    drain()
    assert Run.objects.get(pk=run_id).status == RunStatus.WAITING
    waiting = Step.objects.filter(run_id=run_id, status=StepStatus.WAITING)
    assert list(waiting.values_list("step_id", flat=True)) == ["desk/approval/execute"]

    for surface in SURFACES:
        # Done desks, the desk after the wait, unknown desks: 409, no event sent.
        for desk_id in ("intake", "merge", "ship", "no-such-desk"):
            payload = {"runId": run_id, "deskId": desk_id, "decision": "approve"}
            body = _refused(http, surface, "approveDesk", payload, 409, "DESK_NOT_WAITING")
            assert body["data"] == {"runId": run_id, "deskId": desk_id, "runStatus": "waiting"}
        # The right desk with a bad decision: 400, no event sent either.
        for extra in ({"decision": "maybe"}, {"decision": "Reject"}, {}):
            payload = {"runId": run_id, "deskId": "approval", **extra}
            body = _refused(http, surface, "approveDesk", payload, 400, "BAD_REQUEST")
            assert [issue["path"] for issue in _issues(body)] == [["decision"]]
        # A desk id that is not even safe: 400 INVALID_DESK_ID.
        payload = {"runId": run_id, "deskId": "appr oval", "decision": "approve"}
        _refused(http, surface, "approveDesk", payload, 400, "INVALID_DESK_ID")

    drain()
    assert Run.objects.get(pk=run_id).status == RunStatus.WAITING
    assert not Event.objects.exists()
    assert not TimelineEvent.objects.filter(run_id=run_id, type="approval.decided").exists()
    assert Approval.objects.get(run_id=run_id).status == ApprovalStatus.PENDING
    # Still approvable after all that: the refusals left the wait intact.
    http.ok("api", "approveDesk", {"runId": run_id, "deskId": "approval", "decision": "approve"})
    drain()
    assert http.ok("rpc", "getRunStatus", {"runId": run_id})["run"]["status"] == "completed"


@pytest.mark.django_db(transaction=True)
def test_deciding_a_desk_needs_the_decide_approval_permission_or_a_scoped_key(http) -> None:
    """``approveDesk`` declares ``workflows.decide_approval`` in the contract.

    A plain signed-in user gets 403 on both surfaces and the approval stays pending; the
    same user with the permission decides it; a key scoped to coordination still may.
    """
    from django.contrib.auth.models import Permission

    from workflows.testing import drain

    coordination.saveWorkflow({"workflow": _example(FANOUT)})
    runs = ["coord-http-perm-user", "coord-http-perm-key"]
    for run_id in runs:
        coordination.queueRun({"workflowId": FANOUT, "runId": run_id})
    drain()
    assert set(Run.objects.filter(pk__in=runs).values_list("status", flat=True)) == {
        RunStatus.WAITING
    }

    user = UserFactory()
    plain = SessionSurfaces(user)
    for surface in SURFACES:
        for decision in ("approve", "reject"):
            payload = {"runId": runs[0], "deskId": "approval", "decision": decision}
            body = _refused(plain, surface, "approveDesk", payload, 403, "FORBIDDEN")
            assert body["defined"] is False
            assert "workflows.decide_approval" in body["message"]
            assert body["data"] == {"permission": "workflows.decide_approval"}
    # Reads stay open to a plain signed-in user (procedures without a permission).
    assert plain.ok("rpc", "getRunStatus", {"runId": runs[0]})["run"]["status"] == "running"
    drain()
    approval = Approval.objects.get(run_id=runs[0])
    assert approval.status == ApprovalStatus.PENDING and approval.decided_by == ""
    assert not TimelineEvent.objects.filter(run_id=runs[0], type="approval.decided").exists()
    assert Run.objects.get(pk=runs[0]).status == RunStatus.WAITING

    user.user_permissions.add(Permission.objects.get(codename="decide_approval"))
    allowed = SessionSurfaces(user)
    decided = allowed.ok(
        "api", "approveDesk", {"runId": runs[0], "deskId": "approval", "decision": "approve"}
    )
    assert (decided["runId"], decided["decision"]) == (runs[0], "approve")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert approval.decided_by == f"user:{user.username}"

    scoped = Surfaces(
        {"api": f"Bearer {issue_key(name='coord only', scopes=['coordination']).secret}"}
    )
    scoped.ok("api", "approveDesk", {"runId": runs[1], "deskId": "approval", "decision": "reject"})
    assert Approval.objects.get(run_id=runs[1]).status == ApprovalStatus.REJECTED
    drain()
    statuses = dict(Run.objects.filter(pk__in=runs).values_list("pk", "status"))
    assert statuses == {runs[0]: RunStatus.COMPLETED, runs[1]: RunStatus.FAILED}


@pytest.mark.django_db(transaction=True)
def test_racing_approvals_of_one_waiting_desk_accept_only_one(http) -> None:
    """Both approvals pass the waiting check while the step row is locked, then race."""
    from workflows.testing import drain

    if connection.vendor != "postgresql":
        pytest.skip("needs Postgres row locks to line the two requests up")
    coordination.saveWorkflow({"workflow": _example(FANOUT)})
    run_id = coordination.queueRun({"workflowId": FANOUT, "runId": "coord-http-race"}).run.run_id
    drain()
    step = Step.objects.get(run_id=run_id, step_id="desk/approval/execute")
    if step.status != StepStatus.WAITING:
        pytest.fail(f"setup: the approval desk is not waiting ({step.status})")

    responses: dict[str, Any] = {}

    def approve(decision: str) -> None:
        try:
            payload = {"runId": run_id, "deskId": "approval", "decision": decision}
            responses[decision] = http.another_client().call("api", "approveDesk", payload)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(d,)) for d in ("approve", "reject")]
    with transaction.atomic():
        # Hold the step row: both requests get past the check, then wait in approval_decide.
        Step.objects.select_for_update().get(pk=step.pk)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while _lock_waiters() < 2:
            if time.monotonic() > deadline or not any(t.is_alive() for t in threads):
                pytest.fail(f"setup: the approvals did not line up ({_lock_waiters()} waiting)")
            time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=10)
    if set(responses) != {"approve", "reject"}:
        pytest.fail(f"setup: missing responses {responses}")

    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [200, 409], {d: r.content for d, r in responses.items()}
    winner = next(d for d, r in responses.items() if r.status_code == 200)
    loser = next(r for r in responses.values() if r.status_code == 409)
    assert loser.json()["code"] == "DESK_NOT_WAITING"
    # Exactly one decision was recorded: the approval, the step output and the timeline agree.
    approval = Approval.objects.get(run_id=run_id)
    assert approval.decision == winner
    assert Step.objects.get(pk=step.pk).output["decision"] == winner
    decided = TimelineEvent.objects.filter(run_id=run_id, type="approval.decided")
    assert [event.payload["decision"] for event in decided] == [winner]


def _lock_waiters() -> int:
    """Backends of this test database waiting for a lock (row locks included)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


# -- run ids -----------------------------------------------------------------------------------
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_queue_run_of_a_missing_workflow_is_not_found(http, surface) -> None:
    body = _refused(
        http, surface, "queueRun", {"workflowId": "nope", "runId": "r-1"}, 404, "WORKFLOW_NOT_FOUND"
    )
    assert body["defined"] is True and body["data"] == {"workflowId": "nope"}
    assert not Run.objects.filter(pk="r-1").exists()


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.usefixtures("stored")
def test_run_id_of_another_workflow_is_run_id_conflict(http, surface) -> None:
    # QUEUED_RUN is a run of fanout-approval.
    body = _refused(
        http,
        surface,
        "queueRun",
        {"workflowId": LINEAR, "runId": QUEUED_RUN},
        409,
        "RUN_ID_CONFLICT",
    )
    assert body["defined"] is True


@pytest.mark.usefixtures("stored")
def test_an_idempotency_key_is_scoped_to_the_caller_and_the_workflow(http: Surfaces) -> None:
    def queue(client: Surfaces, workflow_id: str, body: dict[str, Any]):
        path = PROCEDURES["queueRun"].published_path.replace("{workflowId}", workflow_id)
        return client.client.post(
            path,
            json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="nightly-42",
            **client.headers("api"),
        )

    first = queue(http, FANOUT, {"input": {"n": 1}})
    assert first.status_code == 200, first.content
    run_id = first.json()["run"]["runId"]
    again = queue(http, FANOUT, {"input": {"n": 1}})
    assert again.json()["run"]["runId"] == run_id  # same caller, workflow, body: same run
    changed = queue(http, FANOUT, {"input": {"n": 2}})
    assert (changed.status_code, changed.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    other_workflow = queue(http, LINEAR, {"input": {"n": 1}})
    assert other_workflow.status_code == 200
    assert other_workflow.json()["run"]["runId"] != run_id
    other_caller = Surfaces({"api": f"Bearer {issue_key(name='another integrator').secret}"})
    theirs = queue(other_caller, FANOUT, {"input": {"n": 1}})
    assert theirs.status_code == 200 and theirs.json()["run"]["runId"] != run_id
    keyed = Run.objects.filter(idempotency_key="nightly-42")
    assert keyed.count() == 3


def test_saving_a_workflow_needs_the_editors_permission_on_every_surface() -> None:
    from django.contrib.auth.models import Permission

    user = UserFactory()
    plain = SessionSurfaces(user)
    document = _example(LINEAR)
    for surface in SURFACES:
        body = _refused(plain, surface, "saveWorkflow", {"workflow": document}, 403, "FORBIDDEN")
        assert body["data"] == {"permission": "coordination.add_workflowversion"}
    assert not WorkflowVersion.objects.filter(workflow_id=LINEAR).exists()
    # Reading workflows stays open to a plain signed-in user.
    assert "workflows" in plain.ok("rpc", "listWorkflows", {})

    user.user_permissions.add(Permission.objects.get(codename="add_workflowversion"))
    editor = SessionSurfaces(user)
    saved = editor.ok("rpc", "saveWorkflow", {"workflow": document})
    assert saved["workflow"]["workflowId"] == LINEAR
    assert WorkflowVersion.objects.filter(workflow_id=LINEAR).count() == 1
