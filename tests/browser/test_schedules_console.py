"""Schedules in the console, in a real browser: create one through the add form (a bad
cron is refused with its code on the field), see its next and last fire, follow the link
to its runs, pause it with the action."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from workflows import durable_function, temporarily_registered
from workflows.schedules.models import Schedule
from workflows.schedules.scheduler import fire_due
from workflows.testing import drain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console" / "schedules.png"


@pytest.fixture
def nightly():
    @durable_function("browser.nightly", capability="browser", retries=0)
    def report(ctx, step):
        return step.run("compose", lambda: {"lines": 3})

    with temporarily_registered(report):
        yield report


def test_create_see_fires_follow_runs_and_pause(
    staff_page: Page, nightly, inline_dispatch, clock
) -> None:
    page = staff_page
    page.goto("/admin/")
    page.get_by_role("link", name="Schedules").first.click()
    page.get_by_role("link", name="Add schedule").click()
    page.get_by_label("Function").select_option("browser.nightly")
    page.get_by_label("Cron").fill("61 * * * *")
    page.get_by_label("Timezone").fill("Europe/Berlin")
    page.get_by_label("Input").fill('{"team": "ops"}')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text("INVALID_CRON")
    assert not Schedule.objects.exists()

    page.get_by_label("Cron").fill("*/5 * * * *")
    page.get_by_role("button", name="Save", exact=True).click()
    (schedule,) = Schedule.objects.all()
    row = page.locator("#result_list tbody tr").filter(has_text=schedule.pk)
    expect(row).to_contain_text("*/5 * * * * (Europe/Berlin)")
    expect(row).to_contain_text("active")

    # Two ticks later (the scheduler on time for each): two runs.
    clock.advance((schedule.next_fire_at - clock.now()).total_seconds() + 1)
    assert len(fire_due()) == 1
    clock.advance(300)
    assert len(fire_due()) == 1
    drain()
    schedule.refresh_from_db()
    page.reload()
    expect(row.get_by_role("link", name="last")).to_have_attribute("title", schedule.last_run_id)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    row.get_by_role("link", name="all").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("browser.nightly")

    page.go_back()
    row.locator("input[type=checkbox]").check()
    page.locator("select[name=action]").select_option("pause_schedules")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("Paused 1 schedule(s).")
    expect(row).to_contain_text("paused")
