"""/api/runs/: list, filters, cursor pages, detail, steps, timeline, cancel, retry, replay.

Runs are started through ``workflows.trigger`` and executed in-process by the real engine
(``workflows.testing.drain``); only the pagination test inserts rows in bulk.
"""

from __future__ import annotations

import base64
import json
from contextlib import ExitStack
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pydantic import BaseModel

from rawr_site.host.services import apikey_revoke
from tests.conftest import csrf_headers
from tests.factories import StaffUserFactory, UserFactory, issue_key, staff_client
from workflows import durable_function, temporarily_registered, trigger
from workflows.models import Run, TimelineEvent
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)

RUN_FIELDS = {
    "runId",
    "functionId",
    "capability",
    "status",
    "input",
    "output",
    "error",
    "attempt",
    "correlationId",
    "parentRunId",
    "replayOfId",
    "createdAt",
    "startedAt",
    "finishedAt",
    "cancelRequestedAt",
    "cancelledBy",
}
STEP_FIELDS = {
    "stepId",
    "kind",
    "status",
    "output",
    "error",
    "attempts",
    "startedAt",
    "finishedAt",
}
TIMELINE_FIELDS = {"seq", "type", "stepId", "payload", "correlationId", "at"}
#: A POST without a body, as HTTP clients send it (Django's test client defaults to multipart).
JSON = {"content_type": "application/json"}


class Greeting(BaseModel):
    name: str = "world"


@pytest.fixture
def functions():
    """alpha: greet (2 steps), flaky (fails once, no retries), parent (invokes greet);
    beta: wait (parks until an "approved" event)."""
    calls = {"flaky": 0}

    @durable_function("t.alpha.greet", capability="alpha", input=Greeting, retries=0)
    def greet(ctx, step):
        text = step.run("compose", lambda: f"hello {ctx.input.name}")
        step.run("shout", lambda: text.upper())
        return {"text": text}

    @durable_function("t.alpha.flaky", capability="alpha", retries=0, backoff_base=0)
    def flaky(ctx, step):
        def attempt():
            calls["flaky"] += 1
            if calls["flaky"] == 1:
                raise RuntimeError("first try fails")
            return "ok"

        return {"result": step.run("attempt", attempt)}

    @durable_function("t.alpha.parent", capability="alpha")
    def parent(ctx, step):
        return step.invoke("child", "t.alpha.greet", {"name": "child"})

    @durable_function("t.beta.wait", capability="beta")
    def wait(ctx, step):
        return step.wait_for_event("approval", "approved")

    with ExitStack() as stack:
        for function in (greet, flaky, parent, wait):
            stack.enter_context(temporarily_registered(function))
        yield calls


def start(function_id: str, input=None, **kwargs) -> Run:
    run = trigger(function_id, input, **kwargs).run
    drain()
    run.refresh_from_db()
    return run


def key_client(*, scopes=()) -> tuple[Client, str]:
    issued = issue_key(name="ops", scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}"), issued.api_key.prefix


@pytest.fixture
def api():
    client, _prefix = key_client()
    return client


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["runId"] for item in response.json()["results"]]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert set(body) <= {"defined", "code", "status", "message", "data"}
    return body


# -- list ---------------------------------------------------------------------------------
def test_list_is_newest_first_in_camel_case_without_a_total(functions, api) -> None:
    first = start("t.alpha.greet", {"name": "ada"})
    second = start("t.alpha.greet", {"name": "bob"})

    response = api.get("/api/runs/")

    assert ids(response) == [second.pk, first.pk]
    body = response.json()
    assert set(body) == {"next", "previous", "results"}, "no count on list"
    item = body["results"][1]
    assert set(item) == RUN_FIELDS
    assert item["functionId"] == "t.alpha.greet"
    assert item["capability"] == "alpha"
    assert item["status"] == "completed"
    assert item["input"] == {"name": "ada"}
    assert item["output"] == {"text": "hello ada"}
    assert item["attempt"] == 1
    assert item["error"] is None
    assert item["startedAt"] and item["finishedAt"]
    assert item["parentRunId"] is None and item["cancelledBy"] is None


def test_list_filters(functions, api) -> None:
    greet = start("t.alpha.greet", {"name": "ada"}, correlation_id="cid-greet")
    failed = start("t.alpha.flaky")
    waiting = start("t.beta.wait")
    parent = start("t.alpha.parent")
    child = Run.objects.get(parent_run=parent)
    assert (failed.status, waiting.status, parent.status) == ("failed", "waiting", "completed")

    def listed(query: str) -> set[str]:
        return set(ids(api.get(f"/api/runs/?{query}")))

    assert listed("status=failed") == {failed.pk}
    assert listed("status=failed&status=waiting") == {failed.pk, waiting.pk}
    assert listed("capability=beta") == {waiting.pk}
    assert listed("function=t.alpha.greet") == {greet.pk, child.pk}
    assert listed("correlation_id=cid-greet") == {greet.pk}
    assert listed(f"parent_run={parent.pk}") == {child.pk}
    assert listed(f"id_prefix={greet.pk[:12]}") == {greet.pk}
    assert listed("capability=alpha&status=completed") == {greet.pk, parent.pk, child.pk}

    Run.objects.filter(pk=greet.pk).update(created_at=timezone.now() - timedelta(days=2))
    day_ago = quote((timezone.now() - timedelta(days=1)).isoformat())
    assert listed(f"created_before={day_ago}") == {greet.pk}
    assert greet.pk not in listed(f"created_after={day_ago}")
    assert len(listed(f"created_after={day_ago}")) == 4
    assert listed("created_after=2000-01-01T00:00:00Z&function=t.beta.wait") == {waiting.pk}


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "created_after=yesterday",
        "created_before=2024-13-40",
        "cursor=bz14",  # o=x
        "cursor=cD1nYXJiYWdl",  # p=garbage
        "cursor=cD0lNUIlMjJ4JTIyJTJDJTIyeSUyMiU1RA==",  # p=["x","y"]
    ],
)
def test_bad_filters_are_400_in_the_error_shape(api, query) -> None:
    assert_error(api.get(f"/api/runs/?{query}"), 400, "BAD_REQUEST")


def _b64(text: str) -> str:
    return quote(base64.b64encode(text.encode()).decode())


_AT = "2024-01-01T00:00:00+00:00"
#: (id, cursor for a key of (datetime, ..., id) like the runs' and approvals' keys)
TAMPERED_CURSORS = [
    ("not-base64", lambda n: "!!!not*base64"),
    ("truncated", lambda n: "cD1b"),  # p=[
    ("base64-of-garbage", lambda n: _b64("garbage")),
    ("base64-of-binary", lambda n: quote(base64.b64encode(b"\xff\xfe\x00").decode())),
    ("no-position", lambda n: _b64("r=1")),
    ("unknown-field", lambda n: _b64(f"x=1&p={json.dumps([_AT] * (n - 1) + ['a'])}")),
    ("offset", lambda n: _b64(f"o=99999999999999999999&p={json.dumps([_AT] * (n - 1) + ['a'])}")),
    ("bad-reverse", lambda n: _b64(f"r=x&p={json.dumps([_AT] * (n - 1) + ['a'])}")),
    ("position-not-json", lambda n: _b64("p=garbage")),
    ("position-not-a-list", lambda n: _b64('p={"a":1}')),
    ("wrong-length", lambda n: _b64(f"p={json.dumps([_AT] * (n + 1))}")),
    ("nulls", lambda n: _b64(f"p={json.dumps([None] * n)}")),
    ("booleans", lambda n: _b64(f"p={json.dumps([True] * n)}")),
    ("id-as-number", lambda n: _b64(f"p={json.dumps([_AT] * (n - 1) + [5])}")),
    ("time-as-number", lambda n: _b64(f"p={json.dumps([1] * (n - 1) + ['a'])}")),
    ("time-not-a-time", lambda n: _b64(f"p={json.dumps(['x'] * (n - 1) + ['a'])}")),
    (
        "time-without-offset",
        lambda n: _b64(f"p={json.dumps(['2024-01-01T00:00:00'] * (n - 1) + ['a'])}"),
    ),
    (
        "time-out-of-range",
        lambda n: _b64(f"p={json.dumps(['9999-12-31T23:59:59-14:00'] * (n - 1) + ['a'])}"),
    ),
    ("nul-in-id", lambda n: _b64("p=" + json.dumps([_AT] * (n - 1) + ["a\x00b"]))),
    ("nan", lambda n: _b64("p=[NaN" + ",1e309" * (n - 1) + "]")),
    ("too-deep", lambda n: _b64("p=" + "[" * 5000 + "]" * 5000)),
]


@pytest.mark.parametrize(("path", "keys"), [("/api/runs/", 2), ("/api/approvals/", 3)])
@pytest.mark.parametrize(
    "cursor", [c[1] for c in TAMPERED_CURSORS], ids=[c[0] for c in TAMPERED_CURSORS]
)
def test_tampered_cursors_are_400_never_500_or_a_first_page(api, path, keys, cursor) -> None:
    Run.objects.create(id="run-1", function_id="t.x", capability="alpha")
    response = api.get(f"{path}?cursor={cursor(keys)}")
    assert response.json() == {
        "defined": False,
        "code": "BAD_REQUEST",
        "status": 400,
        "message": "Invalid pagination cursor",
    }
    assert response.status_code == 400
    assert list(Run.objects.values_list("pk", flat=True)) == ["run-1"]


@pytest.mark.parametrize("position", ['["1"]', "[true]", "[1.5]", "[null]", "[NaN]"])
@pytest.mark.parametrize("suffix", ["steps/", "timeline/"])
def test_integer_keyed_cursors_refuse_other_types(api, suffix, position) -> None:
    Run.objects.create(id="run-1", function_id="t.x", capability="alpha")
    response = api.get(f"/api/runs/run-1/{suffix}?cursor={_b64(f'p={position}')}")
    assert_error(response, 400, "BAD_REQUEST")
    assert response.json()["message"] == "Invalid pagination cursor"


def test_cursor_pages_walk_every_run_once_without_counting(api) -> None:
    # Bulk rows (no engine needed) with timestamp ties, so the id tiebreak matters.
    Run.objects.bulk_create(
        Run(id=f"bulk-{n:03d}", function_id="t.bulk", capability="alpha") for n in range(130)
    )
    base = timezone.now() - timedelta(hours=1)
    all_ids = [f"bulk-{n:03d}" for n in range(130)]
    for group in range(13):
        Run.objects.filter(pk__in=all_ids[group * 10 : group * 10 + 10]).update(
            created_at=base + timedelta(seconds=group)
        )
    expected = [
        run.pk
        for run in sorted(
            Run.objects.filter(function_id="t.bulk"),
            key=lambda r: (r.created_at, r.pk),
            reverse=True,
        )
    ]

    seen: list[str] = []
    url = "/api/runs/?function=t.bulk&limit=25"
    pages = 0
    with CaptureQueriesContext(connection) as queries:
        while url:
            response = api.get(url)
            seen += ids(response)
            last_page = response.json()
            url = last_page["next"]
            pages += 1
    assert seen == expected
    assert pages == 6
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]

    backwards: list[str] = []
    url = last_page["previous"]
    while url:
        response = api.get(url)
        backwards = ids(response) + backwards
        url = response.json()["previous"]
    assert backwards == expected[:125], "walking back yields the same pages"
    assert len(ids(api.get("/api/runs/?function=t.bulk&limit=200"))) == 130
    for limit in ("100000", "201", "0", "-1", "null", "", "1.5", "true"):
        response = api.get(f"/api/runs/?limit={limit}")
        assert response.status_code == 400, (limit, response.content)
        assert response.json()["message"] == "limit must be an integer from 1 to 200"


# -- detail, steps, timeline ----------------------------------------------------------------
def test_detail(functions, api) -> None:
    run = start("t.alpha.greet", {"name": "ada"}, correlation_id="cid-1")

    response = api.get(f"/api/runs/{run.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == RUN_FIELDS
    assert body["runId"] == run.pk and body["correlationId"] == "cid-1"


@pytest.mark.parametrize("suffix", ["", "steps/", "timeline/"])
def test_unknown_and_malformed_run_ids(api, suffix) -> None:
    body = assert_error(api.get(f"/api/runs/run_missing/{suffix}"), 404, "RUN_NOT_FOUND")
    assert body["data"] == {"runId": "run_missing"}
    assert_error(api.get(f"/api/runs/{quote('bad id!')}/{suffix}"), 400, "INVALID_RUN_ID")
    assert_error(api.get(f"/api/runs/{'x' * 129}/{suffix}"), 400, "INVALID_RUN_ID")
    assert_error(api.get(f"/api/runs/.hidden/{suffix}"), 400, "INVALID_RUN_ID")


def test_steps_in_execution_order(functions, api) -> None:
    run = start("t.alpha.greet", {"name": "ada"})

    response = api.get(f"/api/runs/{run.pk}/steps/")

    assert response.status_code == 200
    steps = response.json()["results"]
    assert [s["stepId"] for s in steps] == ["compose", "shout"]
    assert set(steps[0]) == STEP_FIELDS
    assert steps[1]["output"] == "HELLO ADA"
    assert (steps[1]["kind"], steps[1]["status"], steps[1]["attempts"]) == ("run", "completed", 1)


def test_timeline_ordered_by_seq_and_tailable(functions, api) -> None:
    run = start("t.alpha.greet", {"name": "ada"}, correlation_id="cid-t")

    events = api.get(f"/api/runs/{run.pk}/timeline/").json()["results"]

    assert set(events[0]) == TIMELINE_FIELDS
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "run.queued" and events[-1]["type"] == "run.completed"
    assert {e["correlationId"] for e in events} == {"cid-t"}
    assert [e["stepId"] for e in events if e["type"] == "step.completed"] == ["compose", "shout"]

    tail = api.get(f"/api/runs/{run.pk}/timeline/?after=3").json()["results"]
    assert [e["seq"] for e in tail] == list(range(4, len(events) + 1))
    page = api.get(f"/api/runs/{run.pk}/timeline/?limit=2").json()
    assert [e["seq"] for e in page["results"]] == [1, 2] and page["next"]
    assert_error(api.get(f"/api/runs/{run.pk}/timeline/?after=-1"), 400, "BAD_REQUEST")


def test_tracebacks_only_for_staff_sessions(functions, api) -> None:
    run = start("t.alpha.flaky")
    assert run.status == "failed" and "traceback" in run.error

    for path in (f"/api/runs/{run.pk}/", "/api/runs/"):
        body = api.get(path).json()
        error = body["error"] if "error" in body else body["results"][0]["error"]
        assert error["code"] == "STEP_ERROR" and error["stepId"] == "attempt"
        assert "first try fails" in error["message"]
        assert "traceback" not in error
    step = api.get(f"/api/runs/{run.pk}/steps/").json()["results"][0]
    assert step["status"] == "failed" and "traceback" not in step["error"]

    staff = staff_client()
    assert "RuntimeError" in staff.get(f"/api/runs/{run.pk}/").json()["error"]["traceback"]
    staff_step = staff.get(f"/api/runs/{run.pk}/steps/").json()["results"][0]
    assert "traceback" in staff_step["error"]


# -- cancel -------------------------------------------------------------------------------
def test_cancel_a_waiting_run(functions) -> None:
    client, prefix = key_client()
    run = start("t.beta.wait")
    assert run.status == "waiting"

    response = client.post(f"/api/runs/{run.pk}/cancel/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancelledBy"] == f"api_key:{prefix}"
    assert body["finishedAt"] and body["cancelRequestedAt"]
    last = TimelineEvent.objects.filter(run=run).order_by("seq").last()
    assert (last.type, last.payload["by"]) == ("run.cancelled", f"api_key:{prefix}")


def test_cancel_of_a_finished_run_is_409_and_changes_nothing(functions, api) -> None:
    run = start("t.alpha.greet")
    events_before = TimelineEvent.objects.filter(run=run).count()

    body = assert_error(api.post(f"/api/runs/{run.pk}/cancel/"), 409, "RUN_NOT_CANCELLABLE")

    assert body["data"] == {"runId": run.pk, "status": "completed"}
    after = Run.objects.get(pk=run.pk)
    assert (after.status, after.cancelled_by, after.cancel_requested_at) == ("completed", "", None)
    assert after.updated_at == run.updated_at
    assert TimelineEvent.objects.filter(run=run).count() == events_before


@pytest.mark.parametrize("verb", ["cancel", "retry", "replay"])
def test_actions_on_unknown_or_malformed_ids(api, verb) -> None:
    assert_error(api.post(f"/api/runs/run_missing/{verb}/"), 404, "RUN_NOT_FOUND")
    assert_error(api.post(f"/api/runs/{quote('no good')}/{verb}/"), 400, "INVALID_RUN_ID")


def test_read_verbs_are_not_writable_and_writes_not_readable(functions, api) -> None:
    run = start("t.alpha.greet")
    assert_error(api.get(f"/api/runs/{run.pk}/cancel/"), 405, "METHOD_NOT_SUPPORTED")
    assert_error(api.post(f"/api/runs/{run.pk}/steps/"), 405, "METHOD_NOT_SUPPORTED")
    assert_error(api.delete(f"/api/runs/{run.pk}/"), 405, "METHOD_NOT_SUPPORTED")


# -- retry --------------------------------------------------------------------------------
def test_retry_a_failed_run_from_its_failed_step(functions, api) -> None:
    run = start("t.alpha.flaky")
    assert run.status == "failed"

    response = api.post(f"/api/runs/{run.pk}/retry/")

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued" and response.json()["error"] is None
    drain()
    done = api.get(f"/api/runs/{run.pk}/").json()
    assert (done["status"], done["output"]) == ("completed", {"result": "ok"})
    assert functions["flaky"] == 2
    types = [e["type"] for e in api.get(f"/api/runs/{run.pk}/timeline/").json()["results"]]
    assert "run.retried" in types


def test_retry_of_a_run_that_did_not_fail_is_409(functions, api) -> None:
    run = start("t.alpha.greet")
    body = assert_error(api.post(f"/api/runs/{run.pk}/retry/"), 409, "RUN_NOT_RETRYABLE")
    assert body["data"]["status"] == "completed"
    assert Run.objects.get(pk=run.pk).status == "completed"


# -- replay -------------------------------------------------------------------------------
def test_replay_with_the_original_input(functions) -> None:
    client, prefix = key_client()
    original = start("t.alpha.greet", {"name": "ada"}, correlation_id="cid-original")

    response = client.post(
        f"/api/runs/{original.pk}/replay/",
        content_type="application/json",
        HTTP_X_REQUEST_ID="cid-replay",
    )

    assert response.status_code == 201, response.content
    replay = response.json()
    assert replay["runId"] != original.pk
    assert replay["replayOfId"] == original.pk
    assert replay["input"] == {"name": "ada"}
    assert replay["correlationId"] == "cid-replay"
    assert response["Location"].endswith(f"/api/runs/{replay['runId']}/")
    assert Run.objects.get(pk=replay["runId"]).principal == f"api_key:{prefix}"
    drain()
    assert client.get(response["Location"]).json()["output"] == {"text": "hello ada"}
    replayed = TimelineEvent.objects.get(run=original, type="run.replayed")
    assert replayed.payload == {"by": f"api_key:{prefix}", "replayRunId": replay["runId"]}


def test_replay_with_edited_input(functions, api) -> None:
    original = start("t.alpha.greet", {"name": "ada"})

    response = api.post(
        f"/api/runs/{original.pk}/replay/",
        {"input": {"name": "grace"}},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    drain()
    replay = Run.objects.get(pk=response.json()["runId"])
    assert (replay.input, replay.output) == ({"name": "grace"}, {"text": "hello grace"})


def test_replay_of_an_idempotent_function_still_starts_a_new_linked_run(api) -> None:
    @durable_function("t.alpha.once", capability="alpha", idempotency_key=lambda _input: "one")
    def once(ctx, step):
        return "done"

    with temporarily_registered(once):
        original = start("t.alpha.once")
        response = api.post(f"/api/runs/{original.pk}/replay/", **JSON)

    assert response.status_code == 201, response.content
    assert response.json()["runId"] != original.pk
    assert response.json()["replayOfId"] == original.pk
    assert Run.objects.count() == 2


def test_replay_with_invalid_input_is_400_and_starts_nothing(functions, api) -> None:
    original = start("t.alpha.greet", {"name": "ada"})

    bad_input = api.post(
        f"/api/runs/{original.pk}/replay/",
        {"input": {"name": ["not", "a", "string"]}},
        content_type="application/json",
    )
    bad_body = api.post(
        f"/api/runs/{original.pk}/replay/", "not json", content_type="application/json"
    )

    assert_error(bad_input, 400, "BAD_REQUEST")
    assert_error(bad_body, 400, "BAD_REQUEST")
    assert Run.objects.count() == 1


# -- who may do what ----------------------------------------------------------------------
def test_anonymous_and_bad_keys_are_401(functions) -> None:
    run = start("t.alpha.greet")
    assert_error(Client().get("/api/runs/"), 401, "UNAUTHORIZED")
    assert_error(Client().post(f"/api/runs/{run.pk}/cancel/"), 401, "UNAUTHORIZED")
    bad = Client(HTTP_AUTHORIZATION="Bearer rawr_nope_nope")
    assert_error(bad.get("/api/runs/"), 401, "UNAUTHORIZED")
    issued = issue_key(name="old")
    apikey_revoke(api_key=issued.api_key)
    revoked = Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert_error(revoked.get(f"/api/runs/{run.pk}/"), 401, "UNAUTHORIZED")


def test_non_staff_sessions_are_403(functions) -> None:
    run = start("t.beta.wait")
    client = Client()
    client.force_login(UserFactory())
    assert_error(client.get("/api/runs/"), 403, "FORBIDDEN")
    assert_error(client.get(f"/api/runs/{run.pk}/timeline/"), 403, "FORBIDDEN")
    assert_error(client.post(f"/api/runs/{run.pk}/cancel/"), 403, "FORBIDDEN")
    assert Run.objects.get(pk=run.pk).status == "waiting"


def test_staff_need_model_permissions_for_actions(functions) -> None:
    waiting = start("t.beta.wait")
    failed = start("t.alpha.flaky")
    viewer = staff_client()

    assert ids(viewer.get("/api/runs/")) == [failed.pk, waiting.pk]
    for verb, run in (("cancel", waiting), ("retry", failed), ("replay", failed)):
        body = assert_error(viewer.post(f"/api/runs/{run.pk}/{verb}/"), 403, "FORBIDDEN")
        assert f"workflows.{verb}_run" in body["message"]
    assert [r.status for r in Run.objects.order_by("created_at")] == ["waiting", "failed"]

    canceller = staff_client("cancel_run")
    response = canceller.post(f"/api/runs/{waiting.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["cancelledBy"].startswith("user:user")
    assert_error(canceller.post(f"/api/runs/{failed.pk}/retry/"), 403, "FORBIDDEN")
    assert staff_client("retry_run").post(f"/api/runs/{failed.pk}/retry/").status_code == 202
    assert (
        staff_client("replay_run").post(f"/api/runs/{failed.pk}/replay/", **JSON).status_code == 201
    )


def test_staff_sessions_need_csrf_for_actions(functions) -> None:
    run = start("t.beta.wait")
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffUserFactory(is_superuser=True))

    assert_error(client.post(f"/api/runs/{run.pk}/cancel/"), 403, "FORBIDDEN")
    assert Run.objects.get(pk=run.pk).status == "waiting"
    response = client.post(f"/api/runs/{run.pk}/cancel/", **csrf_headers(client))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_scoped_keys_only_see_and_touch_runs_of_their_capabilities(functions) -> None:
    alpha_client, _ = key_client(scopes=["alpha"])
    alpha = start("t.alpha.greet")
    beta = start("t.beta.wait")

    assert ids(alpha_client.get("/api/runs/")) == [alpha.pk]
    assert ids(alpha_client.get("/api/runs/?capability=beta")) == []
    assert ids(alpha_client.get(f"/api/runs/?id_prefix={beta.pk}")) == []
    for method, suffix in (
        ("get", ""),
        ("get", "steps/"),
        ("get", "timeline/"),
        ("post", "cancel/"),
        ("post", "retry/"),
        ("post", "replay/"),
    ):
        response = getattr(alpha_client, method)(f"/api/runs/{beta.pk}/{suffix}")
        assert_error(response, 404, "RUN_NOT_FOUND")
    assert Run.objects.get(pk=beta.pk).status == "waiting"
    assert Run.objects.count() == 2, "no replay was started"

    assert alpha_client.get(f"/api/runs/{alpha.pk}/").status_code == 200
    assert alpha_client.post(f"/api/runs/{alpha.pk}/replay/", **JSON).status_code == 201
    beta_client, _ = key_client(scopes=["beta"])
    assert beta_client.post(f"/api/runs/{beta.pk}/cancel/").json()["status"] == "cancelled"


# -- schema -------------------------------------------------------------------------------
def test_schema_documents_the_runs_api() -> None:
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = {
        operation["operationId"]: (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if path.startswith("/api/runs/")
    }
    assert set(operations) == {
        "runs_list",
        "runs_retrieve",
        "runs_steps",
        "runs_timeline",
        "runs_cancel",
        "runs_retry",
        "runs_replay",
    }
    _path, _method, listing = operations["runs_list"]
    params = {p["name"] for p in listing["parameters"]}
    assert {
        "status",
        "capability",
        "function",
        "created_after",
        "created_before",
        "correlation_id",
        "parent_run",
        "id_prefix",
        "cursor",
        "limit",
    } <= params
    path, method, _replay = operations["runs_replay"]
    assert (path, method) == ("/api/runs/{id}/replay/", "post")
    components = schema["components"]["schemas"]
    assert set(components["RunResource"]["properties"]) == RUN_FIELDS
    ours = {"RunResource", "StepResource", "TimelineEventResource", "RunErrorResource"}
    assert not [name for name in ours if f"{name}Contract" in components], "no clash with ours"
