"""The run page in a real browser: replay with edited input, view-only staff, live desks.

Plain runs are executed by the engine in-process (inline dispatch, ``drain``); the
coordination run is executed by a real Celery worker (``celery_worker_process``) while the
page is open, and its desks must turn completed without the page reloading.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.urls import reverse
from playwright.sync_api import Page, expect
from pydantic import BaseModel, Field

from coordination.examples import example_documents
from coordination.services import workflow_save
from tests.browser.conftest import STAFF_PASSWORD, log_in
from tests.factories import StaffUserFactory
from workflows import _enqueue, durable_function, temporarily_registered, trigger
from workflows.models import Run
from workflows.testing import clear, drain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path("/tmp")


class Order(BaseModel):
    qty: int = Field(ge=1)
    sku: str


@durable_function("browser.page.order", input=Order, retries=0)
def order(ctx, step):
    total = step.run("price", lambda: ctx.input.qty * 3)
    return {"total": total, "sku": ctx.input.sku}


def _fail_in_depth(level: int) -> None:
    if level == 0:
        raise ValueError("the carrier API refused the label: " + "x" * 400)
    _fail_in_depth(level - 1)


@durable_function("browser.page.shipping", retries=1, backoff_base=0)
def shipping(ctx, step):
    step.run("reserve", lambda: {"reserved": True})
    step.run("quote", lambda: {"carrier": "dhl", "price": 12.5})
    return step.run("label", lambda: _fail_in_depth(12))


@pytest.fixture
def inline(inline_dispatch: None) -> Iterator[None]:
    with temporarily_registered(order), temporarily_registered(shipping):
        yield


def _start(function_id: str, input) -> Run:
    run = trigger(function_id, input, correlation_id="req-7f3a").run
    drain()
    run.refresh_from_db()
    return run


def _run_url(run_id: str) -> str:
    return reverse("admin:workflows_run_change", args=[quote(run_id)])


def _fits_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_failed_run_page_reads_in_one_screen(staff_page: Page, inline) -> None:
    run = _start("browser.page.shipping", {"orderId": "o-17"})
    assert run.status == "failed"
    page = staff_page

    page.goto(_run_url(run.pk))

    expect(page.locator("#run-status")).to_have_text("failed")
    expect(page.locator("#run-error .rp-code")).to_have_text("STEP_ERROR")
    expect(page.locator("#run-error .rp-error-msg")).to_contain_text("ValueError: the carrier")
    expect(page.locator("#run-error .rp-trace")).to_contain_text("_fail_in_depth")
    expect(page.locator("rect.wf-bar")).to_have_count(4)  # reserve, quote, label x2
    expect(page.locator("rect.wf-bar[data-outcome=retried]")).to_have_count(1)
    expect(page.get_by_role("button", name="Retry from failed step")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    assert _fits_width(page), "no line wider than the screen (the traceback wraps)"
    header_bottom = page.locator("#run-error").bounding_box()
    assert header_bottom and header_bottom["y"] + header_bottom["height"] < 900
    page.screenshot(path=str(SCREENSHOTS / "runpage-failed.png"))


def test_replay_with_edited_input_starts_a_linked_run_with_that_input(
    staff_page: Page, inline
) -> None:
    done = _start("browser.page.order", {"qty": 2, "sku": "a-1"})
    page = staff_page
    page.goto(_run_url(done.pk))

    page.get_by_role("button", name="Replay with edited input…").click()
    editor = page.get_by_label("Replay input (JSON)")
    expect(editor).to_have_value('{\n  "qty": 2,\n  "sku": "a-1"\n}')
    submit = page.get_by_role("button", name="Start replay")
    editor.fill('{"qty": 5, "sku": ')
    expect(page.locator("#replay-check")).to_contain_text("Malformed JSON")
    expect(submit).to_be_disabled()
    editor.fill('{"qty": 0}')
    expect(page.locator("#replay-check")).to_contain_text("sku: required")
    expect(submit).to_be_disabled()
    assert Run.objects.count() == 1

    editor.fill('{"qty": 5, "sku": "b-2"}')
    expect(page.locator("#replay-check")).to_have_text("Valid JSON, matches the input schema.")
    submit.click()

    expect(page.locator("ul.messagelist li.success")).to_contain_text("with edited input")
    replay = Run.objects.get(replay_of=done)
    assert replay.input == {"qty": 5, "sku": "b-2"}
    expect(page).to_have_url(f"{page.url.split('/admin/')[0]}{_run_url(replay.pk)}")
    expect(page.locator("#run-id")).to_have_text(replay.pk)
    expect(page.locator("#run-links")).to_contain_text(f"Replay of: {done.pk}")
    drain()
    replay.refresh_from_db()
    assert replay.output == {"total": 15, "sku": "b-2"}


def test_view_only_staff_see_no_action_buttons_and_get_403(
    anonymous_page: Page, live_server, inline, settings
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    failed = _start("browser.page.shipping", {})
    viewer = StaffUserFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_run"))
    page = anonymous_page
    log_in(page, viewer.username, STAFF_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/admin/")

    page.goto(_run_url(failed.pk))

    expect(page.locator("#run-error")).to_be_visible()
    expect(page.locator("#run-actions")).to_have_count(0)
    expect(page.locator(".rp button.rp-btn")).to_have_count(0)
    expect(page.locator("#replay-editor")).to_have_count(0)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for action in ("cancel", "retry", "replay", "decide"):
        url = _run_url(failed.pk).replace("/change/", f"/{action}/")
        response = page.request.post(
            url, headers={"X-CSRFToken": token}, form={"input": "{}"}, max_redirects=0
        )
        assert response.status == 403, (action, response.status)
        assert "CSRF" not in response.text(), "refused for the permission, not the token"
    failed.refresh_from_db()
    assert failed.status == "failed" and Run.objects.count() == 1


def test_coordination_run_desks_turn_completed_live(
    staff_page: Page,
    settings,
    celery_worker_process,
) -> None:
    document = copy.deepcopy(
        next(d for d in example_documents() if d["workflowId"] == "linear-review")
    )
    saved = workflow_save(document=document, by="test")
    # Held back from the broker until the page is open, then handed to the real worker.
    dispatch = settings.RAWR_WORKFLOWS_DISPATCH
    settings.RAWR_WORKFLOWS_DISPATCH = "inline"
    clear()
    run = trigger(
        "coordination.run",
        {
            "workflowId": "linear-review",
            "workflowVersion": saved.version,
            "input": {"ticket": "T-9"},
        },
    ).run
    clear()
    settings.RAWR_WORKFLOWS_DISPATCH = dispatch
    page = staff_page
    page.goto(_run_url(run.pk))
    desks = page.locator("#desk-states li")
    expect(desks).to_have_count(3)
    expect(page.locator("#desk-states li[data-state=pending]")).to_have_count(3)
    expect(page.locator("#run-status")).to_have_text("queued")
    page.evaluate("window.__sameDocument = true")
    url = page.url

    assert _enqueue.send(run.pk)

    expect(page.locator("#desk-states li[data-state=completed]")).to_have_count(3, timeout=30_000)
    expect(page.locator("#run-status")).to_have_text("completed")
    assert page.evaluate("window.__sameDocument === true"), "the page never reloaded"
    assert page.url == url
    expect(page.locator("#run-finished-note")).to_be_visible()
    expect(page.locator("#steps td.st-id")).to_contain_text(["workflow/load"])  # steps too
    expect(page.locator("#timeline-table td.tl-type").last).to_have_text("run.completed")
    page.screenshot(path=str(SCREENSHOTS / "runpage-coordination.png"))


def test_waiting_coordination_run_shows_the_waiting_desk_and_approval(
    staff_page: Page, inline_dispatch: None
) -> None:
    document = copy.deepcopy(
        next(d for d in example_documents() if d["workflowId"] == "fanout-approval")
    )
    saved = workflow_save(document=document, by="test")
    run = trigger(
        "coordination.run",
        {"workflowId": saved.workflow_id, "workflowVersion": saved.version, "input": {"x": 1}},
    ).run
    drain()
    run.refresh_from_db()
    assert run.status == "waiting"
    page = staff_page

    page.goto(_run_url(run.pk))

    expect(page.locator("#desk-states li[data-desk-id=approval]")).to_have_attribute(
        "data-state", "waiting"
    )
    expect(page.locator("#desk-states li[data-state=completed]")).to_have_count(4)
    expect(page.locator("#run-waiting")).to_contain_text("at desk approval")
    page.get_by_label("Decision payload (JSON)").fill('{"note": "ok"}')
    page.screenshot(path=str(SCREENSHOTS / "runpage-waiting.png"))
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("Approved")
    drain()
    run.refresh_from_db()
    assert run.status == "completed"
    clear()
