"""Bulk actions: the dry-run count, then exactly those runs, in batches, audited."""

from __future__ import annotations

import re
from contextlib import ExitStack
from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from tests.factories import staff_client as staff
from workflows import durable_function, services, temporarily_registered, trigger
from workflows.admin import bulk
from workflows.models import Run, TimelineEvent
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/workflows/run/"


@pytest.fixture
def functions():
    @durable_function("t.bulk.wait", capability="alpha")
    def wait(ctx, step):
        return step.wait_for_event("go", "t.bulk.go")

    @durable_function("t.bulk.other", capability="beta")
    def other(ctx, step):
        return step.wait_for_event("go", "t.bulk.go")

    @durable_function("t.bulk.done", capability="alpha", retries=0)
    def done(ctx, step):
        return step.run("work", lambda: "ok")

    @durable_function("t.bulk.broken", capability="alpha", retries=0)
    def broken(ctx, step):
        return step.run("explode", lambda: 1 / 0)

    with ExitStack() as stack:
        for function in (wait, other, done, broken):
            stack.enter_context(temporarily_registered(function))
        yield


def start(function_id: str, count: int = 1) -> list[Run]:
    runs = [trigger(function_id, {"n": n}).run for n in range(count)]
    drain()
    return list(Run.objects.filter(pk__in=[run.pk for run in runs]))




def bulk_url(action: str, query: str = "") -> str:
    url = reverse("admin:workflows_run_bulk", args=[action])
    return f"{url}?{query}" if query else url


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def confirm(client: Client, page):
    """Press "Yes" on the confirmation page: post its form's own hidden fields."""
    html = page.content.decode()
    form = html[html.index('<form method="post" action="') :]
    form = form[: form.index("</form>")]
    data: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(form):
        data.setdefault(name, []).append(unescape(value))
    return client.post(unescape(form.split('"')[3]), data)


def tick(client: Client, action: str, runs: list[Run], query: str = ""):
    """Tick rows on the run list, choose the action and press "Go"."""
    return client.post(
        f"{CHANGELIST}?{query}" if query else CHANGELIST,
        {"action": action, "_selected_action": [run.pk for run in runs], "index": 0},
    )


def run_job(client: Client, job_url: str) -> list[dict]:
    """Poll the step URL the way the progress page does, until the job is finished."""
    page = client.get(job_url)
    assert page.status_code == 200
    states = []
    for _ in range(100):
        response = client.post(page.context["step_url"], HTTP_ACCEPT="application/json")
        assert response.status_code == 200, response.content
        states.append(response.json())
        if states[-1]["finished"]:
            return states
    raise AssertionError("the job never finished")


def statuses(function_id: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in Run.objects.filter(function_id=function_id).values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- the dry run --------------------------------------------------------------------------
def test_dry_run_counts_what_the_database_counts_and_changes_nothing(functions) -> None:
    start("t.bulk.wait", 7)
    start("t.bulk.other", 3)
    start("t.bulk.done", 2)
    events = TimelineEvent.objects.count()
    client = staff(superuser=True)

    page = client.get(bulk_url("cancel", "capability=alpha"))

    assert page.status_code == 200
    dry = page.context["dry"]
    alpha = Run.objects.filter(capability="alpha")
    assert dry.matching == alpha.count() == 9
    assert dry.applicable == alpha.filter(status="waiting").count() == 7
    assert dry.untouched == 2
    html = page.content.decode()
    assert 'id="bulk-applicable">7<' in html and "Yes, cancel 7 runs" in html
    assert len(page.context["sample"]) == 7
    assert statuses("t.bulk.wait") == {"waiting": 7}
    assert TimelineEvent.objects.count() == events
    assert not LogEntry.objects.exists()

    retry = client.get(bulk_url("retry", "capability=alpha")).context["dry"]
    assert (retry.matching, retry.applicable) == (9, 0)
    assert "nothing to retry" in client.get(bulk_url("retry", "capability=alpha")).content.decode()


# -- acting -------------------------------------------------------------------------------
def test_cancel_all_matching_cancels_exactly_the_counted_runs_in_batches(
    functions, monkeypatch
) -> None:
    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    waiting = start("t.bulk.wait", 7)
    start("t.bulk.other", 3)
    client = staff(superuser=True, username="olga")

    page = client.get(bulk_url("cancel", "function_id=t.bulk.wait"))
    assert page.context["dry"].applicable == 7
    late = start("t.bulk.wait")[0]  # created after the count: not part of the job
    started = confirm(client, page)

    assert started.status_code == 302
    assert started.url.startswith(reverse("admin:workflows_run_bulk_job", args=["x"])[:-2])
    assert statuses("t.bulk.wait") == {"waiting": 8}, "nothing happens before the first poll"
    states = run_job(client, started.url)

    assert [state["processed"] for state in states] == [3, 6, 7]
    assert states[-1] | {"errors": []} == states[-1]
    assert (states[-1]["ok"], states[-1]["failed"], states[-1]["total"]) == (7, 0, 7)
    assert statuses("t.bulk.wait") == {"cancelled": 7, "waiting": 1}
    assert Run.objects.get(pk=late.pk).status == "waiting"
    assert statuses("t.bulk.other") == {"waiting": 3}
    entries = LogEntry.objects.filter(content_type__model="run")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(r.pk for r in waiting)
    assert {entry.user.username for entry in entries} == {"olga"}
    assert {entry.change_message for entry in entries} == {"Cancelled (bulk)"}
    for run in waiting:
        last = TimelineEvent.objects.filter(run_id=run.pk).order_by("seq").last()
        assert (last.type, last.payload["by"]) == ("run.cancelled", "user:olga")

    progress = client.get(started.url).content.decode()
    assert 'data-state="done"' in progress and 'id="bulk-ok">7<' in progress
    again = client.post(reverse("admin:workflows_run_bulk_step", args=[states[-1]["id"]]))
    assert again.json()["processed"] == 7, "a finished job does nothing more"
    assert LogEntry.objects.count() == 7


def test_replay_all_matching_never_replays_its_own_new_runs(functions, monkeypatch) -> None:
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    originals = start("t.bulk.done", 3)
    client = staff(superuser=True)

    page = client.get(bulk_url("replay", "function_id=t.bulk.done"))
    assert page.context["dry"].applicable == 3
    states = run_job(client, confirm(client, page).url)

    assert states[-1]["ok"] == 3
    replays = Run.objects.filter(replay_of__isnull=False)
    assert sorted(replays.values_list("replay_of_id", flat=True)) == sorted(r.pk for r in originals)
    assert set(LogEntry.objects.values_list("object_id", flat=True)) == {r.pk for r in originals}
    assert all(
        m.startswith("Replayed as run_")
        for m in LogEntry.objects.values_list("change_message", flat=True)
    )


def test_retry_all_failed_of_a_filter(functions) -> None:
    failed = start("t.bulk.broken", 2)
    start("t.bulk.done", 1)
    client = staff("view_run", "retry_run")

    page = client.get(bulk_url("retry", "status=failed"))
    assert (page.context["dry"].matching, page.context["dry"].applicable) == (2, 2)
    states = run_job(client, confirm(client, page).url)

    assert states[-1]["ok"] == 2
    assert statuses("t.bulk.broken") == {"queued": 2}
    assert LogEntry.objects.filter(object_id__in=[r.pk for r in failed]).count() == 2


def test_ticked_rows_are_counted_first_then_acted_on_in_batches_with_one_log_entry_each(
    functions, monkeypatch
) -> None:
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    waiting = start("t.bulk.wait", 5)
    done = start("t.bulk.done")[0]
    unticked = start("t.bulk.wait")[0]
    done_events = TimelineEvent.objects.filter(run_id=done.pk).count()
    client = staff(superuser=True, username="petra")

    page = tick(client, "cancel_runs", [*waiting, done], "function_id=t.bulk.wait")

    assert page.status_code == 200, "the confirmation page, not an immediate action"
    dry = page.context["dry"]
    assert (dry.selected, dry.matching, dry.applicable, dry.untouched) == (6, 6, 5, 1)
    html = unescape(page.content.decode())
    assert 'id="bulk-matching">6<' in html and "runs selected" in html
    assert "Yes, cancel 5 runs" in html
    refused = html[html.index('id="bulk-refused-runs"') :]
    assert done.pk in refused and "RUN_NOT_CANCELLABLE: it is completed" in refused
    assert {run.pk for run in page.context["dry"].sample} == {run.pk for run in waiting}
    assert statuses("t.bulk.wait") == {"waiting": 6}, "a dry run changes nothing"
    assert not LogEntry.objects.exists()

    started = confirm(client, page)
    assert started.status_code == 302
    states = run_job(client, started.url)

    assert [state["processed"] for state in states] == [2, 4, 6]
    last = states[-1]
    assert (last["total"], last["ok"], last["failed"]) == (6, 5, 1)
    assert last["errors"] == [
        f"{done.pk}: RUN_NOT_CANCELLABLE: it is completed; only active runs can be cancelled"
    ]
    assert sorted(last["done"]) == sorted(run.pk for run in waiting)
    assert statuses("t.bulk.wait") == {"cancelled": 5, "waiting": 1}
    assert Run.objects.get(pk=unticked.pk).status == "waiting", "exactly the ticked rows"
    assert Run.objects.get(pk=done.pk).status == "completed"
    assert TimelineEvent.objects.filter(run_id=done.pk).count() == done_events
    entries = LogEntry.objects.filter(content_type__model="run")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(r.pk for r in waiting)
    assert {entry.user.username for entry in entries} == {"petra"}
    progress = unescape(client.get(started.url).content.decode())
    assert "Cancel 6 selected runs" in progress and 'id="bulk-failed">1<' in progress
    assert f"{done.pk}: RUN_NOT_CANCELLABLE" in progress
    assert all(f"<li>Cancelled {run.pk}</li>" in progress for run in waiting)
    assert 'href="/admin/workflows/run/?function_id=t.bulk.wait"' in progress, "back to the list"


def test_ticked_rows_the_action_does_not_apply_to_are_refused_and_change_nothing(
    functions,
) -> None:
    done = start("t.bulk.done", 2)
    client = staff(superuser=True)

    page = tick(client, "retry_runs", done)

    html = unescape(page.content.decode())
    assert (page.context["dry"].selected, page.context["dry"].applicable) == (2, 0)
    assert 'id="bulk-confirm"' not in html and "there is nothing to retry" in html
    assert html.count("RUN_NOT_RETRYABLE: it is completed") == 2
    forced = confirm(client, page)
    assert forced.status_code == 302
    assert "No run to retry: nothing changed." in page_messages(client.get(forced.url))
    assert statuses("t.bulk.done") == {"completed": 2}
    assert not LogEntry.objects.exists()


def test_a_ticked_run_that_changed_after_the_count_is_refused_with_the_reason(
    functions,
) -> None:
    first, second = start("t.bulk.wait", 2)
    client = staff(superuser=True)
    page = tick(client, "cancel_runs", [first, second])
    assert page.context["dry"].applicable == 2
    services.run_cancel(run_id=second.pk, by="someone-else")

    last = run_job(client, confirm(client, page).url)[-1]

    assert (last["ok"], last["failed"]) == (1, 1)
    assert last["errors"] == [
        f"{second.pk}: RUN_NOT_CANCELLABLE: it is cancelled; only active runs can be cancelled"
    ]
    assert Run.objects.get(pk=second.pk).cancelled_by == "someone-else"
    assert list(LogEntry.objects.values_list("object_id", flat=True)) == [first.pk]


def test_too_many_ticked_rows_are_refused_and_change_nothing(functions, monkeypatch) -> None:
    monkeypatch.setattr(bulk, "MAX_ACTION_RUNS", 3)
    waiting = start("t.bulk.wait", 4)
    client = staff(superuser=True)

    response = client.post(
        CHANGELIST,
        {"action": "cancel_runs", "_selected_action": [r.pk for r in waiting], "index": 0},
        follow=True,
    )
    assert any("Select at most 3 runs" in m for m in page_messages(response))
    forced = client.post(
        bulk_url("cancel"),
        {
            "confirm": "yes",
            "selection": "yes",
            "ids": [r.pk for r in waiting],
            "frozen_at": "2020-01-01T00:00:00+00:00",
        },
        follow=True,
    )
    assert any("incomplete" in m for m in page_messages(forced))
    assert statuses("t.bulk.wait") == {"waiting": 4}
    assert not LogEntry.objects.exists()


def test_select_all_across_pages_goes_to_the_filters_dry_run(functions) -> None:
    start("t.bulk.wait", 2)
    client = staff(superuser=True)

    response = client.post(
        f"{CHANGELIST}?function_id=t.bulk.wait",
        {"action": "cancel_runs", "select_across": "1", "_selected_action": ["x"], "index": 0},
    )

    assert response.status_code == 302
    assert response.url == bulk_url("cancel", "function_id=t.bulk.wait")
    assert statuses("t.bulk.wait") == {"waiting": 2}


# -- refusals -----------------------------------------------------------------------------
def test_over_the_limit_is_refused_and_changes_nothing(functions, settings) -> None:
    settings.RAWR_CONSOLE_BULK_LIMIT = 3
    start("t.bulk.wait", 4)
    client = staff(superuser=True)

    page = client.get(bulk_url("cancel"))
    assert page.context["dry"].over_limit
    html = page.content.decode()
    assert "More than 3 runs match" in html and 'id="bulk-confirm"' not in html

    forced = client.post(
        bulk_url("cancel"),
        {"confirm": "yes", "frozen_at": page.context["frozen_at"].isoformat()},
        follow=True,
    )
    assert any("More than 3 runs match" in m for m in page_messages(forced))
    assert statuses("t.bulk.wait") == {"waiting": 4}
    assert not LogEntry.objects.exists()


def test_a_bad_or_unknown_filter_is_refused_and_changes_nothing(functions) -> None:
    start("t.bulk.wait", 2)
    client = staff(superuser=True)

    for query, message in (
        ("status=nonsense", "Unknown status 'nonsense'"),
        ("since=last-tuesday", "is not a time"),
        ("colour=blue", "Unknown filter 'colour'"),
    ):
        page = client.get(bulk_url("cancel", query))
        assert page.status_code == 200
        html = unescape(page.content.decode())
        assert message in html and 'id="bulk-confirm"' not in html, query
        forced = client.post(
            bulk_url("cancel", query),
            {"confirm": "yes", "frozen_at": page.context["frozen_at"].isoformat()},
            follow=True,
        )
        assert any(message in m for m in page_messages(forced)), query
    assert statuses("t.bulk.wait") == {"waiting": 2}
    assert not LogEntry.objects.exists()


def test_each_action_needs_its_permission_hidden_and_403(functions) -> None:
    waiting = start("t.bulk.wait", 2)
    viewer = staff("view_run")
    canceller = staff("view_run", "cancel_run")
    boss = staff(superuser=True)
    page = boss.get(bulk_url("cancel", "function_id=t.bulk.wait"))
    job_url = confirm(boss, page).url
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]

    listing = viewer.get(CHANGELIST).content.decode()
    assert "all matching" not in listing
    for url in (bulk_url("cancel"), bulk_url("retry"), bulk_url("replay")):
        assert viewer.get(url).status_code == 403
        assert (
            viewer.post(url, {"confirm": "yes", "frozen_at": "2020-01-01T00:00"}).status_code == 403
        )
    assert viewer.get(job_url).status_code == 403
    assert viewer.post(reverse("admin:workflows_run_bulk_step", args=[job_id])).status_code == 403

    listing = canceller.get(CHANGELIST).content.decode()
    assert "Cancel all matching" in listing and "Retry all matching" not in listing
    assert canceller.get(bulk_url("retry")).status_code == 403
    assert canceller.get(bulk_url("replay")).status_code == 403
    assert canceller.get(bulk_url("cancel")).status_code == 200
    assert canceller.get(bulk_url("explode")).status_code == 404
    assert statuses("t.bulk.wait") == {"waiting": 2}
    assert not LogEntry.objects.exists()
    assert {r.status for r in waiting} == {"waiting"}


def test_a_job_belongs_to_the_session_that_started_it(functions) -> None:
    start("t.bulk.wait", 1)
    alice, bob = staff(superuser=True), staff(superuser=True)
    job_url = confirm(alice, alice.get(bulk_url("cancel"))).url

    assert bob.get(job_url).status_code == 404
    assert bob.post(job_url + "step/").status_code == 404
    assert statuses("t.bulk.wait") == {"waiting": 1}
