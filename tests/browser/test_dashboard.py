"""The dashboard in a real browser: charts drawn, a bar click opens the filtered run list."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from workflows.models import Run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path("/tmp/dashboard.png")


def _runs() -> dict[str, list[str]]:
    """Runs two and five hours old (bars well inside the window), a few statuses each."""
    cache.clear()  # the 7-day figures of an earlier test
    now = timezone.now()
    made: dict[str, list[str]] = {"2h": [], "5h": []}
    plan = [
        ("2h", timedelta(hours=2), "completed"),
        ("2h", timedelta(hours=2, seconds=20), "failed"),
        ("2h", timedelta(hours=2, seconds=40), "completed"),
        ("5h", timedelta(hours=5), "completed"),
    ]
    for index, (group, age, status) in enumerate(plan):
        run = Run.objects.create(id=f"run-dash-browser-{index}", function_id="browser.dash")
        created = now - age
        started = created + timedelta(milliseconds=40)
        Run.objects.filter(pk=run.pk).update(
            status=status,
            created_at=created,
            started_at=started,
            finished_at=started + timedelta(milliseconds=700 * (index + 1)),
        )
        made[group].append(run.pk)
    return made


def test_dashboard_charts_render_and_a_bar_opens_its_runs(staff_page: Page, live_server):
    made = _runs()
    staff_page.goto("/admin/")

    chart = staff_page.locator("#rawr-status-chart svg.rawr-chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 150
    expect(staff_page.locator("a.rawr-bar")).to_have_count(48)
    expect(staff_page.locator("#rawr-throughput svg.rawr-spark")).to_be_visible()
    expect(staff_page.locator("#rawr-functions tr[data-function='browser.dash']")).to_be_visible()
    expect(staff_page.locator("[data-figure=status-completed]")).to_have_text("3")
    # Every bar says what it holds on hover.
    busy = staff_page.locator("a.rawr-bar[data-total='3']")
    expect(busy).to_have_count(1)
    expect(busy.locator("title")).to_contain_text("1 failed")
    expect(busy.locator("rect.rawr-seg")).to_have_count(2)
    staff_page.screenshot(path=str(SCREENSHOT), full_page=True)

    since, until = busy.get_attribute("data-since"), busy.get_attribute("data-until")
    busy.click()
    expect(staff_page).to_have_url(re.compile(r"/admin/workflows/run/\?"))
    params = parse_qs(urlsplit(staff_page.url).query)
    assert params["since"] == [since] and params["until"] == [until]
    rows = staff_page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    for run_id in made["2h"]:
        expect(rows.filter(has_text=run_id)).to_have_count(1)


def test_window_switcher_redraws_the_chart(staff_page: Page):
    _runs()
    staff_page.goto("/admin/")
    staff_page.get_by_role("link", name="7d", exact=True).click()
    expect(staff_page.locator("#rawr-dashboard")).to_have_attribute("data-window", "7d")
    expect(staff_page.locator("a.rawr-bar")).to_have_count(28)
    expect(staff_page.locator("[data-figure=created]")).to_have_text("4")
    staff_page.get_by_role("link", name="1h", exact=True).click()
    expect(staff_page.locator("a.rawr-bar")).to_have_count(60)
    expect(staff_page.locator("[data-figure=created]")).to_have_text("0")
