"""The run page: one screen of what a run did, and its actions, each permission-checked.

Runs are executed by the real engine in-process (inline dispatch, ``drain``); every action
is a POST through the test client, as the page's buttons send it.
"""

from __future__ import annotations

import copy
import re
import time
from contextlib import ExitStack

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.db import connection
from django.db.models import JSONField, Value
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pydantic import BaseModel, Field

from tests.factories import StaffUserFactory
from tests.factories import staff_client as client_with
from workflows import durable_function, temporarily_registered, trigger
from workflows.admin.run_page_parts import TIMELINE_PAGE
from workflows.models import Approval, Run, Step, TimelineEvent
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)


class Order(BaseModel):
    qty: int = Field(ge=1)
    sku: str


@pytest.fixture
def functions():
    @durable_function("t.page.order", input=Order, retries=0)
    def order(ctx, step):
        return {"total": step.run("price", lambda: ctx.input.qty * 3)}

    @durable_function("t.page.broken", retries=0)
    def broken(ctx, step):
        step.run("prepare", lambda: "ok")
        return step.run("explode", lambda: 1 / 0)

    @durable_function("t.page.wait")
    def wait(ctx, step):
        return step.wait_for_event("approval", "t.page.approved", timeout=3600)

    @durable_function("t.page.approve")
    def approve(ctx, step):
        decided = step.wait_for_approval("sign-off", title="Ship it?", context={"risk": 2})
        return {"decision": decided["decision"], "payload": decided["payload"]}

    with ExitStack() as stack:
        for function in (order, broken, wait, approve):
            stack.enter_context(temporarily_registered(function))
        yield


def start(function_id: str, input=None, **kwargs) -> Run:
    run = trigger(function_id, {} if input is None else input, **kwargs).run
    drain()
    run.refresh_from_db()
    return run


def page_url(run: Run | str) -> str:
    pk = run if isinstance(run, str) else run.pk
    return reverse("admin:workflows_run_change", args=[quote(pk)])


def action_url(run: Run, name: str) -> str:
    return reverse(f"admin:workflows_run_{name}", args=[quote(run.pk)])


def shown(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def log_entries(run: Run) -> list[str]:
    return list(LogEntry.objects.filter(object_id=run.pk).values_list("change_message", flat=True))


# -- the page -----------------------------------------------------------------------------
def test_failed_run_page_shows_error_waterfall_steps_and_timeline(functions) -> None:
    run = start("t.page.broken", correlation_id="cid-page")
    client = client_with(superuser=True)

    response = client.get(page_url(run))

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'<code class="rp-code">\w+</code>', page), "the error code stands out"
    assert "ZeroDivisionError" in page
    trace = re.search(r'<pre class="rawr-pre rp-trace">(.*?)</pre>', page, re.S)
    assert trace and "Traceback" in trace.group(1) and "\n" in trace.group(1)
    bars = re.findall(
        r'<rect [^>]*class="wf-bar" data-step-id="([^"]+)" data-outcome="(\w+)"', page
    )
    assert ("prepare", "completed") in bars and ("explode", "failed") in bars
    assert re.findall(r'<tr data-step-id="([^"]+)"', page) == ["prepare", "explode"]
    types = re.findall(r'<td class="tl-type"><code>([^<]+)</code>', page)
    assert types[0] == "run.queued" and types[-1] == "run.failed" and "step.failed" in types
    assert "?q=cid-page" in page, "links every run with the same correlation id"
    assert 'name="_save"' not in page
    assert client.post(page_url(run), {"status": "completed"}).status_code == 403


def test_action_buttons_follow_state_and_permission(functions) -> None:
    failed = start("t.page.broken")
    waiting = start("t.page.wait")
    operator = client_with("view_run", "cancel_run", "retry_run", "replay_run")
    viewer = client_with("view_run")

    failed_page = operator.get(page_url(failed)).content.decode()
    assert 'name="retry"' in failed_page and 'name="replay"' in failed_page
    assert 'name="cancel"' not in failed_page, "a failed run cannot be cancelled"
    waiting_page = operator.get(page_url(waiting)).content.decode()
    assert 'name="cancel"' in waiting_page and 'name="retry"' not in waiting_page
    assert "Waiting for" in waiting_page and "t.page.approved" in waiting_page

    for run in (failed, waiting):
        page = viewer.get(page_url(run)).content.decode()
        assert 'id="run-actions"' not in page and 'id="replay-editor"' not in page
        assert "<form" not in page.split('id="content-main"')[1]


def test_view_only_staff_get_403_on_every_action_and_nothing_changes(functions) -> None:
    waiting = start("t.page.wait")
    failed = start("t.page.broken")
    viewer = client_with("view_run")
    seqs = {run.pk: run.next_seq for run in (waiting, failed)}

    for run, name in [
        (waiting, "cancel"),
        (failed, "retry"),
        (failed, "replay"),
        (waiting, "decide"),
    ]:
        assert (
            viewer.post(action_url(run, name), {"input": "{}", "decision": "approve"}).status_code
            == 403
        )
    assert viewer.get(action_url(waiting, "live")).status_code == 200
    assert Run.objects.get(pk=waiting.pk).status == "waiting"
    assert Run.objects.get(pk=failed.pk).status == "failed"
    assert Run.objects.count() == 2, "no replay was started"
    assert {run.pk: run.next_seq for run in Run.objects.all()} == seqs
    assert not LogEntry.objects.exists()
    # Staff without even view_run do not see the page nor its JSON.
    nobody = client_with()
    assert nobody.get(page_url(waiting)).status_code == 403
    assert nobody.get(action_url(waiting, "live")).status_code == 403


def test_actions_need_post_and_csrf(functions) -> None:
    waiting = start("t.page.wait")
    user = StaffUserFactory(is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(action_url(waiting, "cancel")).status_code == 405
    assert client.post(action_url(waiting, "cancel")).status_code == 403  # no CSRF token
    assert Run.objects.get(pk=waiting.pk).status == "waiting"


# -- cancel / retry / replay ----------------------------------------------------------------
def test_cancel_from_the_page_cancels_logs_and_says_so(functions) -> None:
    waiting = start("t.page.wait")
    client = client_with("view_run", "cancel_run")

    response = client.post(action_url(waiting, "cancel"), follow=True)

    assert response.redirect_chain[-1][0] == page_url(waiting)
    assert "Run cancelled." in shown(response)
    waiting.refresh_from_db()
    assert waiting.status == "cancelled" and waiting.cancelled_by.startswith("user:")
    assert log_entries(waiting) == ["Cancelled from the run page"]


def test_refused_cancel_and_retry_show_the_code_and_change_nothing(functions) -> None:
    done = start("t.page.order", {"qty": 1, "sku": "a"})
    client = client_with(superuser=True)
    before = (done.status, done.next_seq)

    cancelled = client.post(action_url(done, "cancel"), follow=True)
    retried = client.post(action_url(done, "retry"), follow=True)

    assert any("RUN_NOT_CANCELLABLE" in m for m in shown(cancelled))
    assert any("RUN_NOT_RETRYABLE" in m for m in shown(retried))
    assert 'class="error"' in retried.content.decode()
    done.refresh_from_db()
    assert (done.status, done.next_seq) == before
    assert log_entries(done) == []


def test_retry_from_the_failed_step(functions) -> None:
    failed = start("t.page.broken")
    client = client_with("view_run", "retry_run")

    response = client.post(action_url(failed, "retry"), follow=True)

    assert any("resumes from its failed step" in m for m in shown(response))
    failed.refresh_from_db()
    assert failed.status == "queued"
    assert failed.timeline.filter(type="run.retried").get().payload["fromSteps"] == ["explode"]
    assert log_entries(failed) == ["Retried from its failed step from the run page"]


def test_replay_same_input_opens_the_linked_run(functions) -> None:
    done = start("t.page.order", {"qty": 2, "sku": "a"})
    client = client_with("view_run", "replay_run")

    response = client.post(action_url(done, "replay"))

    replay = Run.objects.get(replay_of=done)
    assert response.status_code == 302 and response["Location"] == page_url(replay)
    assert replay.input == {"qty": 2, "sku": "a"}
    assert log_entries(done) == [
        f"Replayed with the same input as run {replay.pk} from the run page"
    ]
    page = client.get(page_url(done)).content.decode()
    assert f'Replayed as: <a href="{page_url(replay)}">{replay.pk}</a>' in page


def test_replay_with_edited_input_starts_a_linked_run_with_that_input(functions) -> None:
    done = start("t.page.order", {"qty": 2, "sku": "a"})
    client = client_with("view_run", "replay_run")
    page = client.get(page_url(done)).content.decode()
    assert '<script id="replay-schema" type="application/json">' in page, "schema for the editor"
    assert "&quot;qty&quot;: 2" in page, "the editor starts from the run's input"

    response = client.post(
        action_url(done, "replay"), {"input": '{"qty": 5, "sku": "b"}'}, follow=True
    )

    replay = Run.objects.get(replay_of=done)
    assert response.redirect_chain[-1][0] == page_url(replay)
    assert replay.input == {"qty": 5, "sku": "b"}
    assert any("with edited input" in m for m in shown(response))
    drain()
    replay.refresh_from_db()
    assert replay.output == {"total": 15}
    assert log_entries(done) == [f"Replayed with edited input as run {replay.pk} from the run page"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"qty": 0, "sku": "b"}', "BAD_REQUEST: Input validation failed — qty:"),
        ('{"qty": 3}', "sku: Field required"),
        ('{"qty": 3, "sku": ', "Malformed JSON: Expecting value at line 1 column 18"),
        ("[1, 2]", "BAD_REQUEST"),
        ("null", "null is not an input"),
    ],
)
def test_replay_with_bad_input_is_refused_and_queues_nothing(functions, text, expected) -> None:
    done = start("t.page.order", {"qty": 2, "sku": "a"})
    client = client_with("view_run", "replay_run")
    seq = done.next_seq

    response = client.post(action_url(done, "replay"), {"input": text}, follow=True)

    assert response.redirect_chain[-1][0] == page_url(done)
    messages = shown(response)
    assert any(expected in m and "Nothing was queued" in m for m in messages), messages
    assert Run.objects.count() == 1
    done.refresh_from_db()
    assert done.next_seq == seq, "no run.replayed event"
    assert log_entries(done) == []
    page = response.content.decode()
    assert 'id="replay-editor" hidden' not in page, "the editor stays open"
    assert text.replace('"', "&quot;") in page, "with what was typed"


# -- approvals ------------------------------------------------------------------------------
def test_approve_with_payload_from_the_page(functions) -> None:
    run = start("t.page.approve")
    approval = Approval.objects.get(run=run)
    client = client_with("view_run", "decide_approval")
    page = client.get(page_url(run)).content.decode()
    assert "approval “Ship it?”" in page and 'value="approve"' in page

    response = client.post(
        action_url(run, "decide"),
        {"approval_id": approval.pk, "decision": "approve", "payload": '{"note": "fine"}'},
        follow=True,
    )

    assert "Approved “Ship it?”." in shown(response)
    approval.refresh_from_db()
    assert (approval.status, approval.payload) == ("approved", {"note": "fine"})
    assert approval.decided_by.startswith("user:")
    assert len(log_entries(run)) == 1 and "Approved approval" in log_entries(run)[0]
    drain()
    run.refresh_from_db()
    assert run.output == {"decision": "approve", "payload": {"note": "fine"}}

    again = client.post(
        action_url(run, "decide"), {"approval_id": approval.pk, "decision": "reject"}, follow=True
    )
    assert any("APPROVAL_NOT_PENDING" in m for m in shown(again))
    approval.refresh_from_db()
    assert approval.status == "approved"


def test_decide_refusals_change_nothing(functions) -> None:
    run = start("t.page.approve")
    approval = Approval.objects.get(run=run)
    decider = client_with("view_run", "decide_approval")
    operator = client_with("view_run", "cancel_run", "retry_run", "replay_run")

    assert 'value="approve"' not in operator.get(page_url(run)).content.decode()
    assert (
        operator.post(
            action_url(run, "decide"), {"approval_id": approval.pk, "decision": "approve"}
        ).status_code
        == 403
    )
    malformed = decider.post(
        action_url(run, "decide"),
        {"approval_id": approval.pk, "decision": "approve", "payload": "{nope"},
        follow=True,
    )
    assert any("Malformed JSON" in m for m in shown(malformed))
    approval.refresh_from_db()
    assert approval.status == "pending" and log_entries(run) == []


# -- timeline, live, hostile values ---------------------------------------------------------
def _long_timeline(run: Run, extra: int) -> None:
    first = run.next_seq
    TimelineEvent.objects.bulk_create(
        TimelineEvent(run=run, seq=first + i, type="app.tick", payload={"i": i})
        for i in range(extra)
    )
    Run.objects.filter(pk=run.pk).update(next_seq=first + extra)


def test_timeline_is_paged_by_fifty_without_loading_every_row(functions) -> None:
    run = start("t.page.order", {"qty": 1, "sku": "a"})
    _long_timeline(run, 10_000)
    client = client_with(superuser=True)

    with CaptureQueriesContext(connection) as queries:
        first = client.get(page_url(run))
    seqs = [
        int(s) for s in re.findall(r'<td class="num tl-seq">(\d+)</td>', first.content.decode())
    ]
    assert seqs == list(range(1, TIMELINE_PAGE + 1))
    timeline_sql = [
        q["sql"] for q in queries.captured_queries if "workflows_timelineevent" in q["sql"]
    ]
    assert timeline_sql and all("LIMIT" in sql.upper() for sql in timeline_sql), timeline_sql
    assert len(queries.captured_queries) < 30

    pages = -(-(run.next_seq - 1 + 10_000) // TIMELINE_PAGE)
    assert f"page 1 of {pages}" in first.content.decode()
    started = time.perf_counter()
    last = client.get(page_url(run) + f"?tl={pages}").content.decode()
    assert time.perf_counter() - started < 2
    last_seqs = [int(s) for s in re.findall(r'<td class="num tl-seq">(\d+)</td>', last)]
    total = Run.objects.get(pk=run.pk).next_seq - 1
    assert last_seqs[-1] == total and len(last_seqs) == total - (pages - 1) * TIMELINE_PAGE
    middle = client.get(page_url(run) + "?tl=3").content.decode()
    assert re.findall(r'<td class="num tl-seq">(\d+)</td>', middle)[0] == "101"
    assert client.get(page_url(run) + "?tl=nonsense").status_code == 200


def test_live_endpoint_reports_status_wait_and_new_timeline_rows(functions) -> None:
    waiting = start("t.page.wait")
    client = client_with("view_run")

    body = client.get(action_url(waiting, "live") + "?after=1").json()

    assert body["status"] == "waiting" and body["finished"] is False
    assert body["waitingFor"]["kind"] == "event" and "t.page.approved" in body["waitingFor"]["text"]
    assert [e["seq"] for e in body["timeline"]] == list(range(2, waiting.next_seq))
    assert body["panel"] is None
    assert client.get(action_url(waiting, "live") + "?after=x").status_code == 200


def test_page_survives_hostile_stored_values(functions) -> None:
    run = start("t.page.broken")
    huge = "x" * 3_000_000
    Run.objects.filter(pk=run.pk).update(
        input=Value(None, output_field=JSONField()),
        output={
            "deep": [[[[{"k": [1.5, True, None, "é", "<script>alert(1)</script>"]}]]]],
            "huge": huge,
        },
        error="a plain string error\n" * 50,
    )
    Step.objects.filter(run=run, step_id="explode").update(
        error="just text", output=["odd", 1, None]
    )
    Step.objects.filter(run=run, step_id="prepare").update(started_at=None)
    TimelineEvent.objects.filter(run=run).update(payload=Value(None, output_field=JSONField()))
    client = client_with(superuser=True)

    response = client.get(page_url(run))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "a plain string error" in page
    assert len(page) < 500_000, "a huge value is cut, with a link to all of it"
    raw = client.get(action_url(run, "raw") + "?part=output")
    assert raw.status_code == 200 and len(raw.json()["huge"]) == len(huge)
    assert client.get(action_url(run, "raw") + "?part=nope").status_code == 404
    assert client.get(action_url(run, "live")).status_code == 200
    assert client.get(page_url("no-such-run")).status_code == 302
    assert (
        client.post(reverse("admin:workflows_run_cancel", args=["no-such-run"])).status_code == 404
    )


def test_page_queries_do_not_grow_with_steps(functions) -> None:
    @durable_function("t.page.many", retries=0)
    def many(ctx, step):
        return [step.run(f"s{i}", lambda i=i: i) for i in range(ctx.input["n"])]

    client = client_with(superuser=True)
    with temporarily_registered(many):
        small = start("t.page.many", {"n": 2})
        big = start("t.page.many", {"n": 60})
        counts = []
        for run in (small, big):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(page_url(run)).status_code == 200
            counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts


# -- the coordination panel (registered by coordination, drawn on the generic page) --------
def test_coordination_run_page_shows_desk_states(functions) -> None:
    from coordination.client import coordination
    from coordination.examples import example_documents

    document = copy.deepcopy(
        next(d for d in example_documents() if d["workflowId"] == "linear-review")
    )
    coordination.saveWorkflow({"workflow": document})
    run_id = coordination.queueRun(
        {"workflowId": "linear-review", "input": {"ticket": "T-1"}}
    ).run.run_id
    client = client_with("view_run")

    queued = client.get(page_url(run_id)).content.decode()
    assert re.findall(r'<li data-desk-id="(\w+)" data-state="(\w+)"', queued) == [
        ("analyze", "pending"),
        ("execute", "pending"),
        ("review", "pending"),
    ]
    drain()
    done = client.get(page_url(run_id)).content.decode()
    assert re.findall(r'<li data-desk-id="\w+" data-state="(\w+)"', done) == ["completed"] * 3
    live = client.get(reverse("admin:workflows_run_live", args=[quote(run_id)])).json()
    assert live["panel"]["desks"] == [
        {"deskId": d, "state": "completed"} for d in ("analyze", "execute", "review")
    ]
