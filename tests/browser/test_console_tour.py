"""A tour of the console on realistic data, as a new operator would take it.

The database gets seeded history (``rawr seed``) plus a fan-out coordination run executed
by the real engine (inline dispatch) until it waits at its approval desk. The tour opens the
dashboard, that run's page, the workflow's canvas and the approvals inbox in Chromium and
checks that each shows what staff came for. With ``RAWR_SCREENSHOTS=<dir>`` it also saves
the pictures linked from the README (``docs/console/``)::

    RAWR_SCREENSHOTS=docs/console make test PYTEST_ARGS=tests/browser/test_console_tour.py
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import Page, expect

from coordination import services as coordination_services
from coordination.client import coordination
from coordination.examples import example_documents
from coordination.models import WorkflowVersion
from coordination.seed import SEED_PREFIX
from workflows.models import Run
from workflows.testing import clear, drain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FANOUT = "fanout-approval"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = os.environ.get("RAWR_SCREENSHOTS")
    folder = Path(target) if target else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def waiting_fanout(inline_dispatch: None) -> Run:
    """Seeded history, both examples saved, and a fan-out run parked at its approval."""
    with transaction.atomic():
        call_command(
            "rawr", "seed", "--runs", "3000", "--big-timelines", "0", stdout=io.StringIO()
        )
        # The session's Celery worker sweeps for queued and orphaned runs every few seconds:
        # seeded ones (of functions it does not know) must not be picked up while the tour
        # looks at them, or its run and the test database's flush race. They commit already
        # stamped as just sent.
        Run.objects.filter(id__startswith=SEED_PREFIX).update(
            enqueued_at=timezone.now() + timedelta(hours=1)
        )
    for document in example_documents():  # the seed may have saved them already
        if not WorkflowVersion.objects.filter(workflow_id=document["workflowId"]).exists():
            coordination_services.workflow_save(document=document, by="tour")
    queued = coordination.queueRun(
        {"workflowId": FANOUT, "input": {"request": "Ship the Q4 price change"}}
    )
    drain()
    clear()
    run = Run.objects.get(pk=queued.run.run_id)
    assert run.status == "waiting"
    return run


def test_the_four_console_pages_show_what_staff_came_for(
    waiting_fanout: Run, staff_page: Page, shots: Path
) -> None:
    # ``waiting_fanout`` first: logging in opens the dashboard, whose figures are then
    # reused for 30 s; they must be computed over the seeded history.
    page = staff_page
    page.set_viewport_size({"width": 1440, "height": 1000})

    page.goto("/admin/")
    expect(page.locator("svg").first).to_be_visible()
    expect(page.get_by_text("0 runs created in the window")).to_have_count(0)
    expect(page.get_by_text("Failure rate", exact=False).first).to_be_visible()
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    page.goto(f"/admin/workflows/run/{quote(waiting_fanout.pk)}/change/")
    expect(page.locator('#desk-states li[data-desk-id="approval"]')).to_have_attribute(
        "data-state", "waiting"
    )
    expect(page.get_by_role("button", name="Approve", exact=False).first).to_be_visible()
    page.screenshot(path=str(shots / "run-page.png"), full_page=True)

    version = WorkflowVersion.objects.get(
        workflow_id=FANOUT, version=waiting_fanout.input["workflowVersion"]
    )
    page.goto(f"/admin/coordination/workflowversion/{version.pk}/change/")
    expect(page.locator("canvas").first).to_be_visible()
    expect(page.locator("#canvas-app")).to_have_attribute("data-ready", "true")
    expect(page.locator("#canvas-issues li")).to_have_count(0)
    page.screenshot(path=str(shots / "canvas.png"))

    page.goto("/admin/approvals/")
    row = page.locator(f'tr[data-approval-id]:has(a[href*="{quote(waiting_fanout.pk)}"])')
    expect(row).to_have_count(1)
    page.screenshot(path=str(shots / "inbox.png"), full_page=True)
