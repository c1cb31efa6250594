"""Coordination runs on the REAL path: HTTP (live server) -> Postgres -> Redis -> worker.

``coordination/tests/test_executor.py`` proves the desk-graph executor in-process (inline
dispatch). Here the same workflows are driven the way an integrator does: plain HTTP with
an external API key on the published routes (``/api/orpc/coordination/...``), and the run is
executed by the session's real Celery worker process (``celery_worker_process``) as the
durable function ``coordination.run``. A ``desk:human-wait`` desk parks the run until
``approveDesk`` arrives over HTTP, then a worker resumes it.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.contrib.admin.utils import quote

from coordination.examples import example_documents
from coordination.models import WorkflowVersion
from tests.factories import issue_key
from workflows.models import Run, RunStatus, Step, StepStatus

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_process"),
]

PREFIX = "/api/orpc/coordination"
TIMEOUT = 30
LINEAR = "linear-review"
FANOUT = "fanout-approval"
ERROR_KEYS = {"defined", "code", "status", "message", "data"}


class Api:
    """``requests`` against the live server with an external integrator's API key."""

    def __init__(self, base_url: str, secret: str) -> None:
        self.base_url = base_url
        # No keep-alive: a server thread held by an idle connection keeps its database
        # session open, and Postgres then refuses to drop the test database.
        self.headers = {"Authorization": f"Bearer {secret}", "Connection": "close"}

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base_url + path, headers=self.headers, timeout=10)

    def post(self, path: str, json: Any = None) -> requests.Response:
        # json=None sends no body and no content type, as OpenAPILink does for path-only input.
        return requests.post(self.base_url + path, json=json, headers=self.headers, timeout=10)

    def ok(self, response: requests.Response) -> Any:
        assert response.status_code == 200, (response.request.url, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()

    # The coordination procedures at their published routes.
    def save(self, document: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.post(f"{PREFIX}/workflows", {"workflow": document}))["workflow"]

    def validate(self, workflow_id: str) -> dict[str, Any]:
        return self.ok(self.post(f"{PREFIX}/workflows/{workflow_id}/validate"))

    def queue(self, workflow_id: str, **body: Any) -> dict[str, Any]:
        return self.ok(self.post(f"{PREFIX}/workflows/{workflow_id}/run", body))

    def status(self, run_id: str) -> dict[str, Any]:
        return self.ok(self.get(f"{PREFIX}/runs/{run_id}"))["run"]

    def timeline(self, run_id: str) -> list[dict[str, Any]]:
        body = self.ok(self.get(f"{PREFIX}/runs/{run_id}/timeline"))
        assert body["runId"] == run_id
        return body["timeline"]

    def approve(self, run_id: str, desk_id: str, **body: Any) -> requests.Response:
        return self.post(f"{PREFIX}/runs/{run_id}/desks/{desk_id}/approve", body)


@pytest.fixture
def api(live_server) -> Api:
    return Api(live_server.url, issue_key(name="coordination integrator").secret)


def _example(workflow_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for d in example_documents() if d["workflowId"] == workflow_id))


def _poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    value = read()
    while not done(value):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {TIMEOUT}s waiting for {what}; last: {value!r}")
        time.sleep(0.1)
        value = read()
    return value


def _finished(api: Api, run_id: str) -> dict[str, Any]:
    return _poll(
        lambda: api.status(run_id),
        lambda run: run["status"] in ("completed", "failed"),
        f"run {run_id} to finish",
    )


def _waiting_at(run_id: str, desk_id: str) -> None:
    """Until the runtime run is parked (``waiting``) on the desk's approval step."""

    def read() -> tuple[str, list[str]]:
        waiting = Step.objects.filter(run_id=run_id, status=StepStatus.WAITING)
        return Run.objects.get(pk=run_id).status, list(waiting.values_list("step_id", flat=True))

    _poll(
        read,
        lambda state: state == (RunStatus.WAITING, [f"desk/{desk_id}/execute"]),
        f"run {run_id} to wait at desk {desk_id}",
    )


def _events(timeline: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(event["type"], event.get("deskId")) for event in timeline]


def _assert_timeline_shape(timeline: list[dict[str, Any]], run_id: str, workflow_id: str) -> None:
    """Every event is a DeskRunEventV1 of this run; ids unique; time never goes backwards."""
    assert len({event["eventId"] for event in timeline}) == len(timeline)
    for event in timeline:
        assert event["runId"] == run_id and event["workflowId"] == workflow_id, event
        assert event["eventId"].startswith(f"{run_id}-"), event
        assert event["ts"].endswith("Z"), event
        is_desk_event = event["type"].startswith("desk.")
        assert (event["deskId"] is not None) is is_desk_event, event
    stamps = [dt.datetime.fromisoformat(event["ts"]) for event in timeline]
    assert stamps == sorted(stamps)


def _assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= ERROR_KEYS and {"defined", "code", "status", "message"} <= set(body)
    assert (body["code"], body["status"]) == (code, status), body
    return body


def _started_by_worker(run_id: str, hostname: str) -> None:
    """The run's first execution was claimed by the session worker process, not by us."""
    started = Run.objects.get(pk=run_id).timeline.get(type="run.started").payload
    assert started["worker"].split(":")[0] == hostname, started


# -- linear-review ---------------------------------------------------------------------------
def test_linear_review_save_validate_run_status_timeline(api: Api, live_server, request) -> None:
    worker = request.getfixturevalue("celery_worker_process")
    saved = api.save(_example(LINEAR))
    assert saved["workflowId"] == LINEAR and saved["version"] == 1
    assert api.validate(LINEAR) == {"workflowId": LINEAR, "validation": {"ok": True, "errors": []}}

    queued = api.queue(LINEAR, input={"ticket": "T-42", "body": "make it faster"})
    run_id = queued["run"]["runId"]
    assert queued["run"]["status"] == "queued"
    assert queued["run"]["workflowVersion"] == 1
    assert queued["eventIds"] == [f"{run_id}-1"]

    run = _finished(api, run_id)
    assert run["status"] == "completed", run.get("error")
    assert (run["workflowId"], run["workflowVersion"]) == (LINEAR, 1)
    assert run["input"] == {"ticket": "T-42", "body": "make it faster"}
    assert run["error"] is None
    assert dt.datetime.fromisoformat(run["finishedAt"]) >= dt.datetime.fromisoformat(
        run["startedAt"]
    )
    # Each desk echoes what it received: review <- execute <- analyze <- the run input.
    output = run["output"]
    assert (output["deskId"], output["status"], output["kind"]) == ("review", "ok", "desk:qa")
    assert output["received"]["deskId"] == "execute"
    assert output["received"]["received"]["deskId"] == "analyze"
    assert output["received"]["received"]["received"] == run["input"]
    _started_by_worker(run_id, worker.hostname)

    # Trace links: the admin page of the run and the timeline route, both absolute.
    links = {link["label"]: link for link in run["traceLinks"]}
    assert {link["provider"] for link in links.values()} == {"rawr"}
    urls = sorted(link["url"] for link in links.values())
    assert urls == sorted(
        [
            f"{live_server.url}/admin/workflows/run/{quote(run_id)}/change/",
            f"{live_server.url}{PREFIX}/runs/{run_id}/timeline",
        ]
    )

    timeline = api.timeline(run_id)
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
    _assert_timeline_shape(timeline, run_id, LINEAR)
    assert [event["status"] for event in timeline] == ["running"] * 7 + ["completed"]
    assert timeline[1]["input"] == run["input"]  # analyze started with the run input
    assert timeline[-2]["output"] == output  # review's output is the run's output

    # The timeline trace link is the same timeline.
    timeline_url = next(url for url in urls if url.endswith("/timeline"))
    linked = requests.get(timeline_url, headers=api.headers, timeout=10)
    assert linked.status_code == 200 and linked.json()["timeline"] == timeline


def test_queue_run_with_the_same_run_id_twice_is_one_run_executed_once(api: Api) -> None:
    api.save(_example(LINEAR))
    first = api.queue(LINEAR, runId="coord-e2e-same", input={"ticket": "T-7"})
    again = api.queue(LINEAR, runId="coord-e2e-same", input={"ticket": "T-7"})
    assert first["run"]["runId"] == again["run"]["runId"] == "coord-e2e-same"
    assert first["eventIds"] == again["eventIds"] == ["coord-e2e-same-1"]
    # (startedAt may differ: queued shows the creation time, then the worker's start.)
    assert again["run"]["workflowVersion"] == first["run"]["workflowVersion"] == 1

    run = _finished(api, "coord-e2e-same")
    assert run["status"] == "completed", run.get("error")
    # Asked once more after it finished: still the same, finished run.
    assert api.queue(LINEAR, runId="coord-e2e-same", input={"ticket": "T-7"})["run"] == run

    stored = Run.objects.get(pk="coord-e2e-same")
    assert Run.objects.filter(function_id="coordination.run").count() == 1
    assert stored.attempt == 1
    types = list(stored.timeline.values_list("type", flat=True))
    assert types.count("run.queued") == 1 and types.count("run.started") == 1
    assert "run.resumed" not in types
    started = [e["deskId"] for e in api.timeline("coord-e2e-same") if e["type"] == "desk.started"]
    assert started == ["analyze", "execute", "review"]
    assert set(stored.steps.values_list("attempts", flat=True)) == {1}


# -- fanout-approval ---------------------------------------------------------------------------
def test_fanout_waits_at_approval_then_completes_with_both_reviews(api: Api, request) -> None:
    worker = request.getfixturevalue("celery_worker_process")
    api.save(_example(FANOUT))
    run_input = {"request": "new laptop", "amount": 1200}
    run_id = api.queue(FANOUT, runId="coord-e2e-fanout", input=run_input)["run"]["runId"]

    _waiting_at(run_id, "approval")
    run = api.status(run_id)
    assert run["status"] == "running" and run["finishedAt"] is None and run["output"] is None
    assert run["waitingFor"]["deskId"] == "approval"
    assert run["waitingFor"]["since"] < run["waitingFor"]["timeoutAt"]
    events = _events(api.timeline(run_id))
    assert events[-1] == ("desk.started", "approval")
    completed = [desk for kind, desk in events if kind == "desk.completed"]
    assert completed[0] == "intake" and completed[-1] == "merge"
    assert set(completed) == {"intake", "legal", "finance", "merge"}
    _started_by_worker(run_id, worker.hostname)

    # Only the desk that is waiting can be approved.
    for desk_id in ("ship", "legal"):
        body = _assert_error(
            api.approve(run_id, desk_id, decision="approve"), 409, "DESK_NOT_WAITING"
        )
        assert body["defined"] is True
        assert body["data"] == {"runId": run_id, "deskId": desk_id, "runStatus": "waiting"}
    assert Run.objects.get(pk=run_id).status == RunStatus.WAITING

    approved = api.ok(
        api.approve(run_id, "approval", decision="approve", payload={"note": "within budget"})
    )
    assert {k: v for k, v in approved.items() if k != "eventId"} == {
        "runId": run_id,
        "deskId": "approval",
        "decision": "approve",
    }
    assert isinstance(approved["eventId"], str) and approved["eventId"]

    run = _finished(api, run_id)
    assert run["status"] == "completed", run.get("error")
    assert run["waitingFor"] is None
    output = run["output"]
    assert (output["deskId"], output["status"]) == ("ship", "ok")
    approval = output["received"]
    assert approval["deskId"] == "approval" and approval["status"] == "approved"
    assert approval["decision"] == "approve"
    assert approval["payload"] == {"note": "within budget"}
    assert approval["approvedBy"].startswith("api_key:")
    merged = approval["received"]["merged"]
    assert set(merged) == {"legal", "finance"}
    assert merged["legal"]["deskId"] == "legal" and merged["finance"]["deskId"] == "finance"
    assert merged["legal"]["received"] == merged["finance"]["received"]
    assert merged["finance"]["received"]["deskId"] == "intake"
    assert merged["finance"]["received"]["received"] == run_input

    timeline = api.timeline(run_id)
    _assert_timeline_shape(timeline, run_id, FANOUT)
    events = _events(timeline)
    assert events[0] == ("run.started", None) and events[-1] == ("run.completed", None)
    order = [desk for kind, desk in events if kind == "desk.completed"]
    assert order[0] == "intake"
    assert order.index("merge") > max(order.index("legal"), order.index("finance"))
    assert order[-2:] == ["approval", "ship"]
    assert not [event for event in events if event[0] == "desk.failed"]
    # The human wait parked the run; a worker resumed it after the approval event.
    types = list(Run.objects.get(pk=run_id).timeline.values_list("type", flat=True))
    assert "run.resumed" in types

    # Approving again once the run is done: nothing is waiting any more.
    again = api.approve(run_id, "approval", decision="approve")
    _assert_error(again, 409, "DESK_NOT_WAITING")


def test_fanout_rejected_at_approval_fails_the_run(api: Api) -> None:
    api.save(_example(FANOUT))
    waiting_run = api.queue(FANOUT, runId="coord-e2e-ok", input={"request": "a"})
    rejected_run = api.queue(FANOUT, runId="coord-e2e-no", input={"request": "b", "amount": 9e9})
    assert waiting_run["run"]["runId"] != rejected_run["run"]["runId"]
    run_id = rejected_run["run"]["runId"]
    _waiting_at(run_id, "approval")

    rejected = api.ok(
        api.approve(run_id, "approval", decision="reject", payload={"reason": "too costly"})
    )
    assert rejected["decision"] == "reject"

    run = _finished(api, run_id)
    assert run["status"] == "failed"
    assert "rejected" in run["error"], run
    assert run["output"] is None and run["finishedAt"] is not None

    timeline = api.timeline(run_id)
    _assert_timeline_shape(timeline, run_id, FANOUT)
    events = _events(timeline)
    desk_events = [event for event in events if event[0].startswith("desk.")]
    assert desk_events[-1] == ("desk.failed", "approval")
    assert events[-1] == ("run.failed", None)
    assert ("desk.started", "ship") not in events
    failed = next(event for event in timeline if event["type"] == "desk.failed")
    assert failed["status"] == "failed" and "rejected" in failed["detail"]
    assert timeline[-1]["status"] == "failed"
    stored = Run.objects.get(pk=run_id).timeline.get(type="desk.failed").payload
    assert stored["decision"] == "reject" and stored["payload"] == {"reason": "too costly"}

    # The other run of the same workflow is still waiting, untouched by the rejection.
    _waiting_at("coord-e2e-ok", "approval")
    assert api.status("coord-e2e-ok")["status"] == "running"
    assert WorkflowVersion.objects.filter(workflow_id=FANOUT).count() == 1
