"""The admin as the operations console, used the way staff use it: in a real browser.

Runs are made by the real engine in-process (inline dispatch, ``workflows.testing.drain``);
every page is served by ``live_server`` and driven through Chromium.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from coordination.models import WorkflowVersion
from rawr_site.host.models import ApiKey
from rawr_site.host.services import apikey_authenticate
from tests.browser.conftest import STAFF_PASSWORD, log_in
from workflows import durable_function, temporarily_registered, trigger
from workflows.models import Run
from workflows.testing import clear, drain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RUN_PAGE_SCREENSHOT = Path("/tmp/run-page.png")
EXAMPLE = Path(__file__).resolve().parents[2] / "coordination" / "examples" / "linear-review.json"


@durable_function("browser.invoice")
def invoice(ctx, step):
    total = step.run("price", lambda: ctx.input["qty"] * 3)
    sent = step.run("send", lambda: f"sent {total}")
    return {"total": total, "sent": sent}


@durable_function("browser.approval")
def approval(ctx, step):
    step.run("prepare", lambda: "ready")
    got = step.wait_for_event("approved", "browser.approved", timeout=3600)
    return {"by": got["data"]["by"]}


@dataclass
class Runs:
    completed: Run
    waiting: Run


@pytest.fixture
def runs(inline_dispatch: None) -> Iterator[Runs]:
    """One completed and one waiting run, executed by the engine before the browser looks."""
    with temporarily_registered(invoice), temporarily_registered(approval):
        completed = trigger("browser.invoice", {"qty": 2}).run
        waiting = trigger("browser.approval", {"order": "o-1"}).run
        drain()
        completed.refresh_from_db()
        waiting.refresh_from_db()
        assert (completed.status, waiting.status) == ("completed", "waiting")
        yield Runs(completed=completed, waiting=waiting)
    clear()


def _result_rows(page: Page):
    return page.locator("#result_list tbody tr")


def _row(page: Page, text: str):
    return _result_rows(page).filter(has_text=text)


def _run_action(page: Page, value: str, *selected: str) -> None:
    """Tick the rows' checkboxes, pick the action and press "Go", like staff would."""
    for pk in selected:
        page.locator(f"input.action-select[value='{pk}']").check()
    page.locator("select[name=action]").select_option(value)
    page.get_by_role("button", name="Go").click()


def _messages(page: Page, level: str):
    return page.locator(f"ul.messagelist li.{level}")


def test_staff_logs_in_through_the_form_and_sees_the_console(
    anonymous_page: Page, live_server, staff_user
) -> None:
    page = anonymous_page
    log_in(page, staff_user.username, "not-the-password")
    expect(page.locator(".errornote")).to_contain_text("correct username and password")

    log_in(page, staff_user.username, STAFF_PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.locator("#user-tools")).to_contain_text(staff_user.username)
    sections = page.locator("#content-main caption")
    # Grouped by what staff do, Celery's result tables out of the navigation.
    for group in ("Runs", "Coordination", "Capabilities", "Access"):
        expect(sections.filter(has_text=group)).to_be_visible()
    expect(page.locator("#content-main")).not_to_contain_text("Task results")
    expect(page).to_have_title(re.compile("RAWR HQ"))
    expect(page.locator("#content-main").get_by_role("link", name="API keys")).to_be_visible()
    expect(page.locator("#content-main th").get_by_role("link", name="Runs")).to_be_visible()


def test_run_list_filters_searches_and_shows_a_run_with_its_timeline(
    staff_page: Page, runs: Runs
) -> None:
    page = staff_page
    done, waiting = runs.completed, runs.waiting
    page.goto("/admin/workflows/run/")
    expect(_result_rows(page)).to_have_count(2)
    expect(_row(page, done.pk).locator(".rawr-badge")).to_have_text("completed")
    expect(_row(page, waiting.pk).locator(".rawr-badge")).to_have_text("waiting")

    page.locator("#changelist-filter").get_by_role("link", name="Waiting").click()
    expect(_result_rows(page)).to_have_count(1)
    expect(_result_rows(page)).to_contain_text(waiting.pk)

    page.goto("/admin/workflows/run/")
    page.locator("#searchbar").fill(done.pk)
    page.locator("#searchbar").press("Enter")
    expect(_result_rows(page)).to_have_count(1)
    expect(_result_rows(page)).to_contain_text(done.pk)

    page.get_by_role("link", name=done.pk, exact=True).click()
    expect(page.locator("#run-id")).to_have_text(done.pk)
    expect(page.locator("#run-status")).to_have_text("completed")
    expected_types = list(done.timeline.order_by("seq").values_list("type", flat=True))
    assert expected_types[0] == "run.queued" and expected_types[-1] == "run.completed"
    expect(page.locator("#timeline-table td.tl-type")).to_have_text(expected_types)
    expect(page.locator("#timeline-table td.tl-seq")).to_have_text(
        [str(n) for n in range(1, len(expected_types) + 1)]
    )
    expect(page.locator("#steps td.st-id")).to_have_text(["price", "send"])
    expect(page.locator("#steps td.st-status")).to_have_text(["completed"] * 2)
    expect(page.locator("#steps td.st-output").first).to_contain_text("6")
    expect(page.locator("#run-output")).to_contain_text('"total": 6')
    page.screenshot(path=str(RUN_PAGE_SCREENSHOT), full_page=True)


def test_cancel_action_cancels_a_waiting_run_and_refuses_a_completed_one(
    staff_page: Page, staff_user, runs: Runs
) -> None:
    page = staff_page
    page.set_viewport_size({"width": 1280, "height": 900})
    done, waiting = runs.completed, runs.waiting
    timeline_before = done.timeline.count()
    page.goto("/admin/workflows/run/")

    _run_action(page, "cancel_runs", waiting.pk, done.pk)

    # The dry run of exactly the ticked rows: nothing has changed yet.
    expect(page.locator("#bulk-matching")).to_have_text("2")
    expect(page.locator("#bulk-applicable")).to_have_text("1")
    expect(page.locator("#bulk-untouched")).to_have_text("1")
    expect(page.locator(".rawr-bulk-scope")).to_contain_text("The 2 runs you selected")
    expect(page.locator(".rawr-sample").first).to_contain_text(waiting.pk)
    refused = page.locator("#bulk-refused-runs tbody tr")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text(done.pk)
    expect(refused).to_contain_text("RUN_NOT_CANCELLABLE: it is completed")
    waiting.refresh_from_db()
    assert waiting.status == "waiting" and waiting.cancel_requested_at is None
    page.screenshot(path="/tmp/confirm-selection.png", full_page=True)

    page.get_by_role("button", name="Yes, cancel 1 run").click()

    expect(page.locator("#bulk-status")).to_have_attribute("data-state", "done")
    expect(page.locator("#bulk-ok")).to_have_text("1")
    expect(page.locator("#bulk-failed")).to_have_text("1")
    expect(page.locator("#bulk-done li")).to_have_text([f"Cancelled {waiting.pk}"])
    expect(page.locator("#bulk-errors li")).to_have_text(
        [f"{done.pk}: RUN_NOT_CANCELLABLE: it is completed; only active runs can be cancelled"]
    )
    expect(page.locator(".rawr-progress")).to_have_attribute("aria-valuenow", "100")
    page.screenshot(path="/tmp/progress-selection.png", full_page=True, animations="disabled")
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"
    assert waiting.cancelled_by == f"user:{staff_user.username}"
    assert waiting.timeline.order_by("seq").last().type == "run.cancelled"
    done.refresh_from_db()
    assert done.status == "completed" and done.cancel_requested_at is None
    assert done.timeline.count() == timeline_before

    page.get_by_role("link", name="Back to the run list").click()
    expect(_row(page, waiting.pk).locator(".rawr-badge")).to_have_text("cancelled")
    expect(_row(page, done.pk).locator(".rawr-badge")).to_have_text("completed")

    _run_action(page, "cancel_runs", done.pk)  # the completed run alone: nothing to do

    expect(page.locator("#bulk-applicable")).to_have_text("0")
    expect(page.locator("#bulk-nothing")).to_contain_text("nothing to cancel")
    expect(page.locator("#bulk-confirm")).to_have_count(0)
    expect(page.locator("#bulk-refused-runs tbody tr")).to_contain_text("RUN_NOT_CANCELLABLE")
    done.refresh_from_db()
    assert done.status == "completed" and done.cancel_requested_at is None
    assert done.timeline.count() == timeline_before


def _import_into_canvas(page: Page, document: dict) -> None:
    """The canvas toolbar's "Import…": paste a document and load it (nothing is saved)."""
    # The toolbar works once the canvas script has wired it (a click before is lost).
    expect(page.locator("#canvas-app")).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Import…").click()
    page.locator("#canvas-import-text").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Load into canvas").click()
    expect(page.locator("#canvas-import-dialog")).not_to_be_visible()


def test_workflow_import_refuses_an_unknown_desk_kind_then_stores_the_example(
    staff_page: Page,
) -> None:
    page = staff_page
    page.set_viewport_size({"width": 1440, "height": 1000})
    document = json.loads(EXAMPLE.read_text())
    broken = json.loads(EXAMPLE.read_text())
    broken["desks"][1]["kind"] = "desk:teleportation"

    page.goto("/admin/coordination/workflowversion/")
    page.locator(".object-tools a.addlink").click()
    expect(page.locator("#canvas-app h1")).to_have_text("New workflow")

    _import_into_canvas(page, broken)

    issue = page.locator("#canvas-issues li[data-code=UNKNOWN_DESK_KIND]")
    expect(issue).to_have_attribute("data-desk-id", "execute")
    expect(page.locator("#canvas-status")).to_have_text(re.compile(r"\d+ problems?"))
    page.get_by_role("button", name="Save as new version").click()
    expect(page.locator("#canvas-message")).to_contain_text("Not saved")
    expect(page.locator("#canvas-status")).to_have_text("Not saved")
    expect(issue).to_be_visible()
    page.screenshot(path="/tmp/canvas-import-refused.png", full_page=True)
    assert not WorkflowVersion.objects.exists()

    _import_into_canvas(page, document)

    expect(page.locator("#canvas-status")).to_contain_text("Valid")
    expect(page.locator("#canvas-issues li")).to_have_count(0)
    page.get_by_role("button", name="Save as new version").click()

    expect(_messages(page, "success")).to_have_text("Saved linear-review version 1.")
    expect(page.locator("#canvas-app h1")).to_contain_text("linear-review v1")
    stored = WorkflowVersion.objects.get()
    assert (stored.workflow_id, stored.version, stored.document["desks"]) == (
        "linear-review",
        1,
        document["desks"],
    )
    desks = page.locator("#canvas-outline-desks li")
    expect(desks).to_have_count(3)
    for desk_id, kind in (
        ("analyze", "desk:analysis"),
        ("execute", "desk:execution"),
        ("review", "desk:qa"),
    ):
        expect(page.locator(f"#canvas-outline-desks li[data-desk-id={desk_id}]")).to_contain_text(
            kind
        )

    page.goto("/admin/coordination/workflowversion/")
    row = _row(page, "linear-review")
    expect(row.locator("td.field-version")).to_have_text("1")
    expect(row.locator("td.field-desk_count")).to_have_text("3")
    row.get_by_role("link", name="linear-review").click()
    expect(page.locator("#canvas-app h1")).to_contain_text("linear-review v1")

    # Edit as a new version: change the name in the side panel, save.
    page.get_by_label("Name", exact=True).fill("Linear review, renamed")
    expect(page.locator("#canvas-status")).to_contain_text("unsaved changes")
    page.get_by_role("button", name="Save as new version").click()
    expect(_messages(page, "success")).to_have_text("Saved linear-review version 2.")
    expect(page.locator("#canvas-app h1")).to_contain_text("linear-review v2")

    # A new version from a stored one by URL; a version that is not a number means the latest.
    page.goto("/admin/coordination/workflowversion/add/?from=linear-review&version=²")
    expect(page.locator("#canvas-outline-desks li")).to_have_count(3)
    expect(page.get_by_label("Name", exact=True)).to_have_value("Linear review, renamed")
    page.get_by_role("button", name="Save as new version").click()
    expect(_messages(page, "success")).to_have_text("Saved linear-review version 3.")
    versions = WorkflowVersion.objects.filter(workflow_id="linear-review").order_by("version")
    assert list(versions.values_list("version", "name")) == [
        (1, document["name"]),
        (2, "Linear review, renamed"),
        (3, "Linear review, renamed"),
    ]


def test_api_key_secret_is_shown_once_listed_by_prefix_and_revocable(
    staff_page: Page,
) -> None:
    page = staff_page
    page.goto("/admin/rawr/apikey/add/")
    page.get_by_label("Name").fill("billing integration")
    page.get_by_label("Scopes").fill('"search"')  # a JSON string, not a list of ids
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".field-scopes .errorlist")).to_contain_text("list of capability ids")
    page.get_by_label("Scopes").fill('["search", "payroll"]')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".field-scopes .errorlist")).to_contain_text("payroll")
    assert not ApiKey.objects.exists()

    page.get_by_label("Scopes").fill('["search"]')
    page.get_by_role("button", name="Save", exact=True).click()

    shown = _messages(page, "warning")
    expect(shown).to_contain_text("Copy it now, it is not shown again")
    found = re.search(r"rawr_[0-9a-f]+_\S+", shown.inner_text())
    assert found, shown.inner_text()
    secret = found.group(0)
    key = ApiKey.objects.get(name="billing integration")
    assert key.scopes == ["search"]
    assert secret.startswith(f"rawr_{key.prefix}_")
    assert apikey_authenticate(secret=secret) == key

    page.reload()  # the message is gone: the list never shows the secret again
    row = _row(page, "billing integration")
    expect(row.locator("td.field-prefix")).to_have_text(key.prefix)
    assert secret not in page.content()

    _run_action(page, "revoke_selected", str(key.pk))

    expect(_messages(page, "success")).to_have_text("Revoked 1 key(s).")
    key.refresh_from_db()
    assert key.revoked_at is not None
    expect(_row(page, "billing integration").locator("td.field-revoked_at")).not_to_have_text("-")
    assert apikey_authenticate(secret=secret) is None
