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
def runs(settings) -> Iterator[Runs]:
    """One completed and one waiting run, executed by the engine before the browser looks."""
    settings.RAWR_WORKFLOWS_DISPATCH = "inline"
    clear()
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
    done, waiting = runs.completed, runs.waiting
    page.goto("/admin/workflows/run/")

    _run_action(page, "cancel_runs", waiting.pk)

    expect(_messages(page, "success")).to_have_text(f"Cancelled 1 run(s): {waiting.pk}")
    expect(_messages(page, "error")).to_have_count(0)
    expect(_row(page, waiting.pk).locator(".rawr-badge")).to_have_text("cancelled")
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"
    assert waiting.cancelled_by == f"user:{staff_user.username}"
    assert waiting.timeline.order_by("seq").last().type == "run.cancelled"

    timeline_before = done.timeline.count()
    _run_action(page, "cancel_runs", done.pk)

    error = _messages(page, "error")
    expect(error).to_contain_text(done.pk)
    expect(error).to_contain_text("RUN_NOT_CANCELLABLE")
    expect(_messages(page, "success")).to_have_count(0)
    expect(_row(page, done.pk).locator(".rawr-badge")).to_have_text("completed")
    done.refresh_from_db()
    assert done.status == "completed" and done.cancel_requested_at is None
    assert done.timeline.count() == timeline_before


def test_workflow_import_refuses_an_unknown_desk_kind_then_stores_the_example(
    staff_page: Page,
) -> None:
    page = staff_page
    document = json.loads(EXAMPLE.read_text())
    broken = json.loads(EXAMPLE.read_text())
    broken["desks"][1]["kind"] = "desk:teleportation"

    page.goto("/admin/coordination/workflowversion/")
    page.locator(".object-tools a.addlink").click()
    page.get_by_label("Workflow document (JSON)").fill(json.dumps(broken, indent=2))
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".errorlist")).to_contain_text("UNKNOWN_DESK_KIND (execute)")
    assert not WorkflowVersion.objects.exists()

    page.get_by_label("Workflow document (JSON)").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Save", exact=True).click()

    expect(_messages(page, "success")).to_contain_text("was added successfully")
    stored = WorkflowVersion.objects.get()
    assert (stored.workflow_id, stored.version) == ("linear-review", 1)
    row = _row(page, "linear-review")
    expect(row.locator("td.field-version")).to_have_text("1")
    expect(row.locator("td.field-desk_count")).to_have_text("3")

    row.get_by_role("link", name="linear-review").click()
    expect(page.locator(".field-version .readonly")).to_have_text("1")
    expect(page.locator("#desks-group td.field-desk_id")).to_have_text(
        ["analyze", "execute", "review"]
    )
    expect(page.locator("#desks-group td.field-kind")).to_have_text(
        ["desk:analysis", "desk:execution", "desk:qa"]
    )

    page.get_by_role("link", name="Edit as a new version").click()
    expect(page.get_by_label("Workflow document (JSON)")).to_contain_text('"linear-review"')
    page.goto(f"{page.url.split('?')[0]}?from=linear-review&version=²")  # not a number: latest
    expect(page.get_by_label("Workflow document (JSON)")).to_contain_text('"linear-review"')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(_messages(page, "success")).to_contain_text("was added successfully")
    versions = WorkflowVersion.objects.filter(workflow_id="linear-review").order_by("version")
    assert list(versions.values_list("version", flat=True)) == [1, 2]


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
