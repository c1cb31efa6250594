"""The REAL oRPC TypeScript clients drive the coordination capability end to end.

``tests/e2e/node/coordination_clients.mjs`` uses ``RPCLink`` (``@orpc/client``) on ``/rpc``
with a first-party service token and ``OpenAPILink`` (``@orpc/openapi-client``) on
``/api/orpc`` with an external API key, both pinned to oRPC 1.16.1, against pytest-django's
``live_server``; the runs they queue are executed by the session's real Celery worker. The
OpenAPILink contract is the manifest's coordination entries published under ``/api/orpc/``.
The script prints one JSON object: for every call, what the client returned or threw (as a
front end sees it) plus the captured HTTP exchange(s).

Needs Node >= 20 and ``npm ci`` in ``tests/e2e/node``; skipped with a message otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coordination.examples import example_documents
from coordination.models import WorkflowVersion
from rawr_site.manifest import MANIFEST_PATH
from tests.e2e.node_scripts import ScriptResult, node_or_skip, run_node_script
from tests.factories import issue_key
from workflows.models import Approval, Event, Run

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_process"),
]

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "coordination_clients.mjs"
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "coordination" / "examples"
ORPC_VERSION = "1.16.1"
POLL_TIMEOUT_MS = 30_000
SCRIPT_TIMEOUT_SECONDS = 120
LINEAR, FANOUT = "linear-review", "fanout-approval"
PROCEDURES = {
    "listWorkflows",
    "saveWorkflow",
    "getWorkflow",
    "validateWorkflow",
    "queueRun",
    "getRunStatus",
    "getRunTimeline",
    "approveDesk",
}


class Clients(ScriptResult):
    """The parsed output of the script (plus its polls of run status)."""

    def polled(self, label: str) -> None:
        assert self.payload["polls"][label]["satisfied"], (
            f"{label}: condition not reached in {POLL_TIMEOUT_MS} ms; last: {self.calls[label]}"
        )


def _run_script(node: str, base_url: str) -> Clients:
    service = issue_key(name="e2e coordination front end", first_party=True)
    external = issue_key(name="e2e coordination integrator")
    env = {
        "RAWR_BASE_URL": base_url,
        "RAWR_SERVICE_TOKEN": service.secret,
        "RAWR_API_KEY": external.secret,
        "RAWR_MANIFEST": str(MANIFEST_PATH),
        "RAWR_EXAMPLES_DIR": str(EXAMPLES_DIR),
        "RAWR_POLL_TIMEOUT_MS": str(POLL_TIMEOUT_MS),
    }
    payload = run_node_script(node, SCRIPT, env, SCRIPT_TIMEOUT_SECONDS)
    assert payload["versions"]["@orpc/client"] == ORPC_VERSION
    return Clients(payload)


@pytest.fixture(scope="module")
def _recorded() -> dict[str, Any]:
    """The script runs once, inside the first test (its keys and rows live in that test's
    database, flushed afterwards), and then also records what the database held; later
    tests only read the record."""
    return {}


@pytest.fixture
def clients(live_server, _recorded) -> Clients:
    if "clients" not in _recorded:
        _recorded["clients"] = _run_script(node_or_skip(), live_server.url)
        _recorded["db"] = {
            "workflowVersions": sorted(
                WorkflowVersion.objects.values_list("workflow_id", "version")
            ),
            "runs": {
                run.pk: {"status": run.status, "attempt": run.attempt}
                for run in Run.objects.filter(function_id="coordination.run")
            },
            "events": list(Event.objects.values_list("name", "data")),
            "decisions": sorted(
                Approval.objects.exclude(status="pending").values_list("status", flat=True)
            ),
        }
    return _recorded["clients"]


@pytest.fixture
def db_after(clients, _recorded) -> dict[str, Any]:
    return _recorded["db"]


def _example(workflow_id: str) -> dict[str, Any]:
    return next(d for d in example_documents() if d["workflowId"] == workflow_id)


def _assert_orpc_error(
    error: dict[str, Any], *, code: str, status: int, defined: bool
) -> dict[str, Any]:
    assert error["isORPCError"], f"client threw a plain {error['constructor']}: {error}"
    assert (error["code"], error["status"], error["defined"]) == (code, status, defined), error
    assert error["isDefinedError"] is defined, error
    return error


def _rpc_envelope(text: str) -> dict[str, Any]:
    body = json.loads(text)
    assert isinstance(body, dict) and set(body) <= {"json", "meta"}, body
    return body


def _events(timeline: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(event["type"], event.get("deskId")) for event in timeline["timeline"]]


# -- the derived contract ----------------------------------------------------------------------
def test_openapilink_contract_is_the_published_coordination_part_of_the_manifest(clients):
    manifest = json.loads(MANIFEST_PATH.read_text())
    capability = next(c for c in manifest["capabilities"] if c["id"] == "coordination")
    published = {
        proc["name"]: {
            "method": proc["method"],
            "path": proc["path"],
            "successStatus": proc["successStatus"],
        }
        for proc in capability["procedures"]
        if (proc["publishedPath"] or "").startswith("/api/orpc/")
    }
    assert set(published) == PROCEDURES
    assert clients.payload["contract"]["published"] == {"coordination": published}


# -- workflows -----------------------------------------------------------------------------------
def test_workflows_saved_through_one_link_read_through_the_other(clients: Clients) -> None:
    assert clients.value("rpc.listWorkflows.empty") == {"workflows": []}
    assert clients.wire("rpc.listWorkflows.empty")["body"] == "{}"  # void input

    linear = clients.value("rpc.saveWorkflow.linear")["workflow"]
    fanout = clients.value("api.saveWorkflow.fanout")["workflow"]
    for saved, workflow_id in ((linear, LINEAR), (fanout, FANOUT)):
        expected = {k: v for k, v in _example(workflow_id).items() if k != "updatedAt"}
        assert {k: v for k, v in saved.items() if k != "updatedAt"} == expected
        assert saved["version"] == 1 and saved["updatedAt"].endswith("Z")

    # RPC: POST /rpc/coordination/saveWorkflow, input and output in the {"json": ...} envelope.
    exchange = clients.wire("rpc.saveWorkflow.linear")
    assert (exchange["method"], exchange["path"]) == ("POST", "/rpc/coordination/saveWorkflow")
    assert json.loads(exchange["body"]) == {"json": {"workflow": _example(LINEAR)}}
    assert _rpc_envelope(exchange["responseBody"]) == {"json": {"workflow": linear}}
    # OpenAPI: POST /api/orpc/coordination/workflows with the bare input.
    exchange = clients.wire("api.saveWorkflow.fanout")
    assert (exchange["method"], exchange["path"]) == ("POST", "/api/orpc/coordination/workflows")
    assert json.loads(exchange["body"]) == {"workflow": _example(FANOUT)}
    assert json.loads(exchange["responseBody"]) == {"workflow": fanout}

    assert clients.value("api.getWorkflow.linear") == {"workflow": linear}
    assert clients.value("rpc.getWorkflow.fanout") == {"workflow": fanout}
    assert clients.value("rpcInferred.getWorkflow.linear") == {"workflow": linear}
    get = clients.wire("api.getWorkflow.linear")
    assert (get["method"], get["path"], get["search"], get["body"]) == (
        "GET",
        f"/api/orpc/coordination/workflows/{LINEAR}",
        "",
        None,
    )
    inferred = clients.wire("rpcInferred.getWorkflow.linear")
    assert (inferred["method"], inferred["path"]) == ("GET", "/rpc/coordination/getWorkflow")
    assert inferred["query"] == [
        ["data", json.dumps({"json": {"workflowId": LINEAR}}, separators=(",", ":"))]
    ]

    for label in ("api.listWorkflows", "rpcInferred.listWorkflows"):
        listed = clients.value(label)["workflows"]
        assert sorted(w["workflowId"] for w in listed) == [FANOUT, LINEAR], label
        assert {w["workflowId"]: w for w in listed} == {LINEAR: linear, FANOUT: fanout}, label
    listing = clients.wire("api.listWorkflows")
    assert (listing["method"], listing["search"], listing["body"]) == ("GET", "", None)
    assert clients.wire("rpcInferred.listWorkflows")["method"] == "GET"


def test_validate_workflow_on_both_links(clients: Clients) -> None:
    ok = {"ok": True, "errors": []}
    assert clients.value("rpc.validateWorkflow.linear") == {"workflowId": LINEAR, "validation": ok}
    assert clients.value("api.validateWorkflow.fanout") == {"workflowId": FANOUT, "validation": ok}
    # Path-only input: OpenAPILink sends the POST with no body and no content type.
    exchange = clients.wire("api.validateWorkflow.fanout")
    assert (exchange["method"], exchange["path"]) == (
        "POST",
        f"/api/orpc/coordination/workflows/{FANOUT}/validate",
    )
    assert exchange["body"] is None and exchange["contentType"] is None
    assert exchange["status"] == 200


# -- declared errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("link", ["rpc", "api"])
def test_missing_workflow_is_a_defined_workflow_not_found(clients: Clients, link: str) -> None:
    for name in ("getWorkflow.missing", "validateWorkflow.missing", "queueRun.missingWorkflow"):
        error = _assert_orpc_error(
            clients.error(f"{link}.{name}"), code="WORKFLOW_NOT_FOUND", status=404, defined=True
        )
        assert error["message"] == "Workflow no-such-workflow not found"
        assert error["data"] == {"workflowId": "no-such-workflow"}
        assert clients.wire(f"{link}.{name}")["status"] == 404


def test_declared_error_bodies_are_the_same_on_both_links(clients: Clients) -> None:
    rpc_body = _rpc_envelope(clients.wire("rpc.getWorkflow.missing")["responseBody"])
    api_body = json.loads(clients.wire("api.getWorkflow.missing")["responseBody"])
    assert rpc_body == {"json": api_body}
    assert set(api_body) == {"defined", "code", "status", "message", "data"}
    assert clients.wire("api.getWorkflow.missing")["path"] == (
        "/api/orpc/coordination/workflows/no-such-workflow"
    )
    safe = clients.value("api.getWorkflow.missing.safe")
    assert (safe["isDefined"], safe["isSuccess"]) == (True, False)
    assert safe["error"]["code"] == "WORKFLOW_NOT_FOUND"


@pytest.mark.parametrize("link", ["rpc", "api"])
def test_invalid_document_is_workflow_validation_failed(clients: Clients, link: str) -> None:
    error = _assert_orpc_error(
        clients.error(f"{link}.saveWorkflow.unknownKind"),
        code="WORKFLOW_VALIDATION_FAILED",
        status=400,
        defined=True,
    )
    data = error["data"]
    assert data["ok"] is False
    assert [(e["code"], e["deskId"]) for e in data["errors"]] == [("UNKNOWN_DESK_KIND", "execute")]
    assert all(isinstance(e["message"], str) and e["message"] for e in data["errors"])


@pytest.mark.parametrize("link", ["rpc", "api"])
def test_malformed_document_is_bad_request_with_issues(clients: Clients, link: str) -> None:
    error = _assert_orpc_error(
        clients.error(f"{link}.saveWorkflow.missingDesks"),
        code="BAD_REQUEST",
        status=400,
        defined=False,
    )
    issues = error["data"]["issues"]
    assert [issue["path"][-1:] for issue in issues] == [["desks"]]
    assert all(isinstance(issue["message"], str) and issue["message"] for issue in issues)


@pytest.mark.parametrize("link", ["rpc", "api"])
def test_unsafe_ids_are_declared_errors(clients: Clients, link: str) -> None:
    error = _assert_orpc_error(
        clients.error(f"{link}.getWorkflow.unsafeId"),
        code="INVALID_WORKFLOW_ID",
        status=400,
        defined=True,
    )
    assert error["data"] == {"workflowId": "bad id!"}
    error = _assert_orpc_error(
        clients.error(f"{link}.queueRun.unsafeRunId"),
        code="INVALID_RUN_ID",
        status=400,
        defined=True,
    )
    assert error["data"] == {"runId": "../x"}
    if link == "api":
        # encodeURIComponent("bad id!") keeps the "!"; the space becomes %20.
        assert clients.wire("api.getWorkflow.unsafeId")["path"] == (
            "/api/orpc/coordination/workflows/bad%20id!"
        )
        # runId "../x" travels in the queueRun body, not in the path.
        assert json.loads(clients.wire("api.queueRun.unsafeRunId")["body"]) == {"runId": "../x"}


@pytest.mark.parametrize("link", ["rpc", "api"])
def test_missing_runs_and_bad_decisions(clients: Clients, link: str) -> None:
    for name in ("getRunStatus.missing", "getRunTimeline.missing", "approveDesk.missingRun"):
        error = _assert_orpc_error(
            clients.error(f"{link}.{name}"), code="RUN_NOT_FOUND", status=404, defined=True
        )
        assert error["data"] == {"runId": "no-such-run"}, name
    error = _assert_orpc_error(
        clients.error(f"{link}.approveDesk.maybe"), code="BAD_REQUEST", status=400, defined=False
    )
    assert [issue["path"] for issue in error["data"]["issues"]] == [["decision"]]


def test_run_id_with_a_slash_is_invalid_run_id_on_rpc(clients: Clients) -> None:
    error = _assert_orpc_error(
        clients.error("rpc.getRunStatus.slashRunId"),
        code="INVALID_RUN_ID",
        status=400,
        defined=True,
    )
    assert error["data"] == {"runId": "../x"}
    # OpenAPILink puts it in the path, percent-encoded: whatever the answer, an ORPCError.
    assert clients.wire("api.getRunStatus.slashRunId")["path"] == (
        "/api/orpc/coordination/runs/..%2Fx"
    )
    assert clients.error("api.getRunStatus.slashRunId")["isORPCError"]


def test_run_id_with_a_slash_is_invalid_run_id_on_openapi(clients: Clients) -> None:
    _assert_orpc_error(
        clients.error("api.getRunStatus.slashRunId"),
        code="INVALID_RUN_ID",
        status=400,
        defined=True,
    )


def test_failed_calls_stored_nothing(clients: Clients, db_after) -> None:
    listed = clients.value("api.listWorkflows.afterErrors")["workflows"]
    assert sorted((w["workflowId"], w["version"]) for w in listed) == [(FANOUT, 1), (LINEAR, 1)]
    assert db_after["workflowVersions"] == [(FANOUT, 1), (LINEAR, 1)]
    api_linear = clients.payload["ids"]["apiLinearRunId"]
    assert set(db_after["runs"]) == {"cc-linear-rpc", api_linear, "cc-fanout-api", "cc-fanout-rpc"}
    # Only the two decisions that were accepted were recorded; no stray events either.
    assert db_after["decisions"] == ["approved", "rejected"]
    assert db_after["events"] == []


# -- runs --------------------------------------------------------------------------------------
def test_queue_run_is_idempotent_for_a_run_id(clients: Clients, db_after) -> None:
    first = clients.value("rpc.queueRun.linear")
    again = clients.value("rpc.queueRun.linear.again")
    assert first["run"]["runId"] == again["run"]["runId"] == "cc-linear-rpc"
    assert first["eventIds"] == again["eventIds"] == ["cc-linear-rpc-1"]
    assert first["run"]["workflowVersion"] == 1 and first["run"]["status"] == "queued"
    stored = db_after["runs"]["cc-linear-rpc"]
    assert (stored["status"], stored["attempt"]) == ("completed", 1)

    exchange = clients.wire("rpc.queueRun.linear")
    assert json.loads(exchange["body"]) == {
        "json": {
            "workflowId": LINEAR,
            "runId": "cc-linear-rpc",
            "input": {"ticket": "T-1", "body": "through RPCLink"},
        }
    }
    # OpenAPI: workflowId in the path, the rest in the body; the server picks the run id.
    exchange = clients.wire("api.queueRun.linear")
    assert (exchange["method"], exchange["path"]) == (
        "POST",
        f"/api/orpc/coordination/workflows/{LINEAR}/run",
    )
    assert json.loads(exchange["body"]) == {"input": {"ticket": "T-2"}}
    queued = clients.value("api.queueRun.linear")["run"]
    assert queued["runId"] == clients.payload["ids"]["apiLinearRunId"]
    assert queued["runId"].startswith("run_")


def test_linear_runs_complete_and_read_the_same_through_every_link(clients: Clients) -> None:
    clients.polled("rpc.getRunStatus.linear")
    clients.polled("api.getRunStatus.linear")
    run = clients.value("rpc.getRunStatus.linear")["run"]
    assert run["status"] == "completed", run
    assert (run["workflowId"], run["workflowVersion"]) == (LINEAR, 1)
    assert run["input"] == {"ticket": "T-1", "body": "through RPCLink"}
    assert run["output"]["deskId"] == "review"
    assert run["output"]["received"]["received"]["received"] == run["input"]
    assert clients.value("api.getRunStatus.linear.rpcRun")["run"] == run
    assert clients.value("rpcInferred.getRunStatus.linear")["run"] == run
    assert clients.wire("rpcInferred.getRunStatus.linear")["method"] == "GET"
    labels = {link["label"]: link["url"] for link in run["traceLinks"]}
    assert any(
        url.endswith("/admin/workflows/run/cc-linear-rpc/change/") for url in labels.values()
    )
    assert any(
        url.endswith("/api/orpc/coordination/runs/cc-linear-rpc/timeline")
        for url in labels.values()
    )
    other = clients.value("api.getRunStatus.linear")["run"]
    assert other["status"] == "completed" and other["input"] == {"ticket": "T-2"}

    timeline = clients.value("rpc.getRunTimeline.linear")
    assert timeline == clients.value("api.getRunTimeline.linear")
    assert _events(timeline) == [
        ("run.started", None),
        ("desk.started", "analyze"),
        ("desk.completed", "analyze"),
        ("desk.started", "execute"),
        ("desk.completed", "execute"),
        ("desk.started", "review"),
        ("desk.completed", "review"),
        ("run.completed", None),
    ]
    exchange = clients.wire("api.getRunTimeline.linear")
    assert (exchange["method"], exchange["path"]) == (
        "GET",
        "/api/orpc/coordination/runs/cc-linear-rpc/timeline",
    )


@pytest.mark.parametrize(("link", "run_id"), [("api", "cc-fanout-api"), ("rpc", "cc-fanout-rpc")])
def test_fanout_parks_at_approval_and_only_that_desk_can_be_approved(clients, link, run_id):
    clients.polled(f"{link}.getRunTimeline.fanout.parked")
    clients.polled(f"{link}.approveDesk.ship.notWaiting")
    error = _assert_orpc_error(
        clients.error(f"{link}.approveDesk.ship.notWaiting"),
        code="DESK_NOT_WAITING",
        status=409,
        defined=True,
    )
    assert error["data"] == {"runId": run_id, "deskId": "ship", "runStatus": "waiting"}
    run = clients.value(f"{link}.getRunStatus.fanout.parked")["run"]
    assert run["status"] == "running" and run["output"] is None
    if link == "api":
        exchange = clients.wire("api.approveDesk.ship.notWaiting")
        assert (exchange["method"], exchange["path"]) == (
            "POST",
            f"/api/orpc/coordination/runs/{run_id}/desks/ship/approve",
        )
        assert json.loads(exchange["body"]) == {"decision": "approve"}


def test_approved_fanout_completes_with_both_reviews_merged(clients: Clients) -> None:
    approved = clients.value("api.approveDesk.approve")
    assert {k: v for k, v in approved.items() if k != "eventId"} == {
        "runId": "cc-fanout-api",
        "deskId": "approval",
        "decision": "approve",
    }
    exchange = clients.wire("api.approveDesk.approve")
    assert exchange["path"] == "/api/orpc/coordination/runs/cc-fanout-api/desks/approval/approve"
    assert json.loads(exchange["body"]) == {
        "decision": "approve",
        "payload": {"note": "within budget"},
    }

    clients.polled("api.getRunStatus.fanout")
    run = clients.value("api.getRunStatus.fanout")["run"]
    assert run["status"] == "completed", run
    approval = run["output"]["received"]
    assert (approval["status"], approval["payload"]) == ("approved", {"note": "within budget"})
    assert set(approval["received"]["merged"]) == {"legal", "finance"}
    events = _events(clients.value("api.getRunTimeline.fanout"))
    completed = [desk for kind, desk in events if kind == "desk.completed"]
    assert completed[-2:] == ["approval", "ship"] and events[-1] == ("run.completed", None)

    for link in ("rpc", "api"):
        error = _assert_orpc_error(
            clients.error(f"{link}.approveDesk.afterDone"),
            code="DESK_NOT_WAITING",
            status=409,
            defined=True,
        )
        assert error["data"]["runStatus"] == "completed"


def test_rejected_fanout_fails_at_the_approval_desk(clients: Clients) -> None:
    rejected = clients.value("rpc.approveDesk.reject")
    assert (rejected["runId"], rejected["deskId"], rejected["decision"]) == (
        "cc-fanout-rpc",
        "approval",
        "reject",
    )
    assert json.loads(clients.wire("rpc.approveDesk.reject")["body"]) == {
        "json": {
            "runId": "cc-fanout-rpc",
            "deskId": "approval",
            "decision": "reject",
            "payload": {"reason": "too costly"},
        }
    }
    clients.polled("rpc.getRunStatus.fanout")
    run = clients.value("rpc.getRunStatus.fanout")["run"]
    assert run["status"] == "failed" and "rejected" in run["error"], run
    timeline = clients.value("rpc.getRunTimeline.fanoutRejected")
    assert timeline == clients.value("api.getRunTimeline.fanoutRejected")
    events = _events(timeline)
    desk_events = [event for event in events if event[0].startswith("desk.")]
    assert desk_events[-1] == ("desk.failed", "approval")
    assert events[-1] == ("run.failed", None)


def test_every_response_is_json(clients: Clients) -> None:
    for label, record in clients.calls.items():
        for exchange in record["wire"]:
            assert exchange["responseContentType"].startswith("application/json"), (
                label,
                exchange,
            )
