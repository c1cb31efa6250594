"""Bulk actions in a real browser: filter the run list, cancel everything matching.

Runs are made by the real engine in-process (inline dispatch) before the browser looks;
the pages are served by ``live_server`` and driven through Chromium, and the progress page
does the batches itself (one POST per batch) until it says "Done.".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from playwright.sync_api import Page, expect

from workflows import durable_function, temporarily_registered, trigger
from workflows.admin import bulk
from workflows.models import Run
from workflows.testing import clear, drain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path("/tmp")


@durable_function("browser.bulk.hold", capability="billing")
def hold(ctx, step):
    return step.wait_for_event("release", "browser.bulk.release")


@durable_function("browser.bulk.keep", capability="billing")
def keep(ctx, step):
    return step.wait_for_event("release", "browser.bulk.release")


@dataclass
class Runs:
    held: list[Run]
    kept: list[Run]


@pytest.fixture
def runs(inline_dispatch: None) -> Iterator[Runs]:
    """7 waiting runs of one function and 3 of another, executed before the browser looks."""
    with temporarily_registered(hold), temporarily_registered(keep):
        held = [
            trigger("browser.bulk.hold", {"n": n}, correlation_id=f"req-{n:04d}").run
            for n in range(7)
        ]
        kept = [trigger("browser.bulk.keep", {"n": n}).run for n in range(3)]
        drain()
        assert set(Run.objects.values_list("status", flat=True)) == {"waiting"}
        yield Runs(held=held, kept=kept)
    clear()


def test_cancel_all_matching_a_filter_shows_the_count_then_cancels_exactly_that_many(
    staff_page: Page, staff_user, runs: Runs, monkeypatch
) -> None:
    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)  # 7 runs: three batches the page drives
    page = staff_page
    page.set_viewport_size({"width": 1440, "height": 900})  # a desktop: every column fits
    page.goto("/admin/workflows/run/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(10)

    page.locator("#changelist-filter").get_by_role("link", name="browser.bulk.hold").click()

    expect(rows).to_have_count(7)
    expect(page.locator("#rawr-bulkbar")).to_contain_text("7 runs match this filter")
    first = runs.held[-1]
    expect(rows.first.locator(".rawr-copy")).to_have_attribute("data-copy", first.pk)
    expect(rows.first.get_by_role("link", name=first.pk, exact=True)).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "runlist-list.png"), full_page=True)

    page.get_by_role("link", name="Cancel all matching…").click()

    expect(page.locator("#bulk-matching")).to_have_text("7")
    expect(page.locator("#bulk-applicable")).to_have_text("7")
    expect(page.locator("#bulk-untouched")).to_have_text("0")
    expect(page.locator(".rawr-bulk-scope")).to_contain_text("function_id browser.bulk.hold")
    assert set(Run.objects.values_list("status", flat=True)) == {"waiting"}, "a dry run"
    page.screenshot(path=str(SCREENSHOTS / "runlist-confirm.png"), full_page=True)

    page.get_by_role("button", name="Yes, cancel 7 runs").click()

    expect(page.locator("#bulk-status")).to_have_attribute("data-state", "done")
    expect(page.locator("#bulk-processed")).to_have_text("7")
    expect(page.locator("#bulk-ok")).to_have_text("7")
    expect(page.locator("#bulk-failed")).to_have_text("0")
    page.screenshot(path=str(SCREENSHOTS / "runlist-progress.png"), full_page=True)
    held = Run.objects.filter(function_id="browser.bulk.hold")
    assert set(held.values_list("status", flat=True)) == {"cancelled"}
    assert {run.cancelled_by for run in held} == {f"user:{staff_user.username}"}
    kept = Run.objects.filter(function_id="browser.bulk.keep")
    assert set(kept.values_list("status", flat=True)) == {"waiting"} and kept.count() == 3
    entries = LogEntry.objects.filter(content_type__model="run")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(r.pk for r in runs.held)

    page.get_by_role("link", name="Back to the run list").click()
    expect(rows).to_have_count(7)
    expect(rows.locator(".rawr-badge")).to_have_text(["cancelled"] * 7)


def test_copy_button_puts_the_full_run_id_on_the_clipboard(staff_page: Page, runs: Runs) -> None:
    page = staff_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/admin/workflows/run/?function_id=browser.bulk.keep")
    row = page.locator("#result_list tbody tr").first
    button = row.locator(".rawr-copy")
    full = button.get_attribute("data-copy")
    assert full in {run.pk for run in runs.kept}

    button.click()

    expect(button).to_have_class("rawr-copy rawr-copied")
    assert page.evaluate("navigator.clipboard.readText()") == full
