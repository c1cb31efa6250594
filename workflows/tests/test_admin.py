"""The runs admin: read-only changelists that stay fast, and permission-checked actions."""

from __future__ import annotations

from dataclasses import dataclass
from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import staff_client as admin_client
from workflows import event_send, trigger
from workflows.admin import EstimatedCountPaginator
from workflows.models import Run, TimelineEvent
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/workflows/run/"




def start(function_id: str, **kwargs) -> Run:
    run = trigger(function_id, {}, **kwargs).run
    drain()
    run.refresh_from_db()
    return run




@dataclass
class Acted:
    #: The answer to "Go": the confirmation page (the dry run) when the action was offered.
    page: HttpResponse
    #: The job's last state once confirmed and finished; None when there was nothing to do.
    state: dict | None


def act(client: Client, action: str, *runs: Run) -> Acted:
    """Tick the runs, choose the action, press "Yes" on the dry run, poll the job to its end."""
    page = client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [run.pk for run in runs], "index": 0},
    )
    if page.status_code != 200 or 'id="bulk-confirm"' not in page.content.decode():
        return Acted(page, None)
    context = page.context
    started = client.post(
        context["confirm_url"],
        {
            "confirm": "yes",
            "selection": "yes",
            "ids": list(context["scope"].ids),
            "frozen_at": context["frozen_at"].isoformat(),
            "back": context["back_url"],
        },
    )
    assert started.status_code == 302, started
    step_url = client.get(started.url).context["step_url"]
    for _ in range(20):
        state = client.post(step_url).json()
        if state["finished"]:
            return Acted(page, state)
    raise AssertionError("the job never finished")


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- changelist and run page ----------------------------------------------------------------
def test_changelist_lists_filters_and_searches_without_counting_the_table(functions) -> None:
    done = start("t.admin.greet", correlation_id="cid-admin")
    failed = start("t.admin.broken")
    waiting = start("t.admin.wait")
    client = admin_client(superuser=True)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert all(run.pk in page for run in (done, failed, waiting))
    assert "t.admin.broken" in page
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the paginator counts (bounded)"
    assert all("LIMIT" in sql.upper() for sql in counts), counts

    def listed(query: str) -> set[str]:
        result = client.get(f"{CHANGELIST}?{query}")
        assert result.status_code == 200
        return {run.pk for run in result.context["cl"].result_list}

    assert listed("status=failed") == {failed.pk}
    assert listed("capability=beta") == {waiting.pk}
    assert listed("function_id=t.admin.greet") == {done.pk}
    assert listed(f"q={failed.pk}") == {failed.pk}
    assert listed(f"q={waiting.pk[:10]}") == {waiting.pk}
    assert listed("q=cid-admin") == {done.pk}
    assert listed("q=nothing-like-this") == set()


def test_run_page_shows_steps_and_timeline_read_only(functions) -> None:
    run = start("t.admin.broken")
    client = admin_client(superuser=True)

    change_url = reverse("admin:workflows_run_change", args=[quote(run.pk)])
    response = client.get(change_url)

    assert response.status_code == 200
    page = response.content.decode()
    assert "explode" in page and "ZeroDivisionError" in page
    assert "run.failed" in page and "step.failed" in page
    assert 'name="_save"' not in page, "nothing to save on an operational row"
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    delete_url = reverse("admin:workflows_run_delete", args=[quote(run.pk)])
    assert client.post(delete_url).status_code == 403
    assert client.post(change_url, {"status": "completed"}).status_code == 403
    assert Run.objects.get(pk=run.pk).status == "failed"


def test_event_admin_is_read_only(functions) -> None:
    event = event_send(name="approved", data={"ok": True})
    client = admin_client(superuser=True)

    assert client.get("/admin/workflows/event/").status_code == 200
    assert event.pk in client.get(f"/admin/workflows/event/?q={event.pk}").content.decode()
    event_url = reverse("admin:workflows_event_change", args=[quote(event.pk)])
    assert client.get(event_url).status_code == 200
    assert client.get("/admin/workflows/event/add/").status_code == 403


def test_paginator_counts_exactly_up_to_its_limit_then_estimates(functions) -> None:
    for _ in range(4):
        start("t.admin.greet")
    paginator = EstimatedCountPaginator(Run.objects.order_by("-created_at"), 2)
    assert paginator.count == 4

    class Small(EstimatedCountPaginator):
        exact_limit = 2

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_run")
    with CaptureQueriesContext(connection) as queries:
        estimated = Small(Run.objects.order_by("-created_at"), 2).count
    assert estimated >= 3
    if connection.vendor == "postgresql":  # elsewhere (embedded SQLite) it counts exactly
        counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts and all("LIMIT 3" in sql for sql in counts), "only a bounded count"
        assert any("reltuples" in q["sql"] for q in queries.captured_queries)
    assert Small(Run.objects.filter(capability="alpha"), 2).count >= 3


# -- actions ------------------------------------------------------------------------------
def test_cancel_action_confirms_then_cancels_through_the_service(functions) -> None:
    waiting = start("t.admin.wait")
    client = admin_client(superuser=True, username="alice")

    acted = act(client, "cancel_runs", waiting)

    assert acted.page.status_code == 200
    assert (acted.page.context["dry"].matching, acted.page.context["dry"].applicable) == (1, 1)
    assert acted.state is not None
    assert (acted.state["ok"], acted.state["failed"], acted.state["done"]) == (1, 0, [waiting.pk])
    waiting.refresh_from_db()
    assert (waiting.status, waiting.cancelled_by) == ("cancelled", "user:alice")
    last = TimelineEvent.objects.filter(run=waiting).order_by("seq").last()
    assert (last.type, last.payload["by"]) == ("run.cancelled", "user:alice")
    assert LogEntry.objects.get().object_id == waiting.pk


def test_action_refusals_are_reported_and_change_nothing(functions) -> None:
    done = start("t.admin.greet")
    waiting = start("t.admin.wait")
    events_before = TimelineEvent.objects.filter(run=done).count()
    client = admin_client(superuser=True)

    acted = act(client, "cancel_runs", done, waiting)

    assert acted.state is not None
    assert (acted.state["ok"], acted.state["failed"]) == (1, 1)
    assert acted.state["done"] == [waiting.pk]
    assert [line.split(":")[:2] for line in acted.state["errors"]] == [
        [done.pk, " RUN_NOT_CANCELLABLE"]
    ]
    assert Run.objects.get(pk=done.pk).status == "completed"
    assert TimelineEvent.objects.filter(run=done).count() == events_before
    assert list(LogEntry.objects.values_list("object_id", flat=True)) == [waiting.pk]

    retry = act(client, "retry_runs", done)
    assert retry.state is None, "nothing to retry: no confirm button"
    assert "RUN_NOT_RETRYABLE" in unescape(retry.page.content.decode())
    assert Run.objects.get(pk=done.pk).status == "completed"
    assert TimelineEvent.objects.filter(run=done).count() == events_before


def test_retry_and_replay_actions(functions) -> None:
    failed = start("t.admin.broken")
    client = admin_client(superuser=True, username="bob")

    retried = act(client, "retry_runs", failed)
    assert retried.state is not None and retried.state["ok"] == 1
    failed.refresh_from_db()
    assert failed.status == "queued"
    assert TimelineEvent.objects.filter(run=failed, type="run.retried").get().payload["by"] == (
        "user:bob"
    )
    drain()

    replayed = act(client, "replay_runs", failed)
    replay = Run.objects.get(replay_of=failed)
    assert replayed.state is not None
    assert replayed.state["done"] == [f"{failed.pk} → {replay.pk}"]
    assert (replay.principal, replay.function_id) == ("user:bob", "t.admin.broken")


def test_actions_need_their_model_permissions(functions) -> None:
    waiting = start("t.admin.wait")
    viewer = admin_client("view_run")

    response = viewer.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["action_form"] is None or not [
        name for name, _label in response.context["action_form"].fields["action"].choices if name
    ]
    refused = act(viewer, "cancel_runs", waiting)
    assert refused.state is None and "dry" not in refused.page.context, "no confirmation page"
    selection = {"confirm": "yes", "selection": "yes", "ids": [waiting.pk]}
    assert (
        viewer.post(reverse("admin:workflows_run_bulk", args=["cancel"]), selection).status_code
        == 403
    )
    assert Run.objects.get(pk=waiting.pk).status == "waiting"

    canceller = admin_client("view_run", "cancel_run")
    choices = canceller.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert [name for name, _label in choices if name] == ["cancel_runs"]
    assert act(canceller, "retry_runs", waiting).state is None
    assert act(canceller, "cancel_runs", waiting).state is not None
    assert Run.objects.get(pk=waiting.pk).status == "cancelled"


def test_staff_without_view_permission_cannot_see_runs(functions) -> None:
    start("t.admin.greet")
    assert admin_client().get(CHANGELIST).status_code == 403
