"""The approvals inbox in a real browser, with a real Celery worker executing the run.

The fan-out example (``coordination/examples/fanout-approval.json``) runs on the session's
worker (``celery_worker_process``) until its human-wait desk parks it; staff approve it
from ``/admin/approvals/`` with a JSON payload, and the worker finishes the run. A
view-only user sees the same inbox without buttons, and a POST from them is a 403.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from playwright.sync_api import Browser, Page, expect

from coordination.client import coordination
from coordination.examples import example_documents
from tests.browser.conftest import STAFF_PASSWORD, TIMEOUT_MS, log_in
from tests.factories import StaffUserFactory
from workflows.models import Approval, ApprovalStatus, Run
from workflows.selectors import approval_pending_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path("/tmp/approvals-inbox.png")
FANOUT = "fanout-approval"
WORKER_TIMEOUT = 30


def _poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + WORKER_TIMEOUT
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WORKER_TIMEOUT}s waiting for {what}; last: {value!r}")
        time.sleep(0.2)


def _viewer_page(browser: Browser, live_server) -> Page:
    """A second browser profile, logged in as staff who may only view approvals."""
    viewer = StaffUserFactory(username="viewer")
    for codename in ("view_approval", "view_run"):
        viewer.user_permissions.add(
            Permission.objects.get(content_type__app_label="workflows", codename=codename)
        )
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log_in(page, viewer.username, STAFF_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/admin/")
    return page


def test_fanout_run_waits_is_approved_from_the_inbox_and_completes(
    staff_page: Page,
    staff_user,
    browser: Browser,
    live_server,
    celery_worker_process,
) -> None:
    document = next(d for d in example_documents() if d["workflowId"] == FANOUT)
    coordination.saveWorkflow({"workflow": document})
    run_input = {"request": "new laptop", "amount": 1200}
    run_id = coordination.queueRun(
        {"workflowId": FANOUT, "runId": "inbox-e2e", "input": run_input}
    ).run.run_id
    approval = _poll(
        lambda: approval_pending_for_run(run_id=run_id),
        lambda found: found is not None and Run.objects.get(pk=run_id).status == "waiting",
        f"run {run_id} to wait at the approval desk",
    )
    assert (approval.workflow_id, approval.desk_id) == (FANOUT, "approval")

    # A view-only user: the same list, no buttons, and the decide POST is refused.
    viewer = _viewer_page(browser, live_server)
    viewer.goto("/admin/approvals/")
    expect(viewer.locator("tr.apr-row")).to_have_count(1)
    expect(viewer.locator(f'tr[data-approval-id="{approval.pk}"]')).to_contain_text(
        "Manager approval"
    )
    expect(viewer.get_by_role("button", name="Approve")).to_have_count(0)
    expect(viewer.locator("#approvals-summary")).to_contain_text("not decide")
    token = next(c["value"] for c in viewer.context.cookies() if c["name"] == "csrftoken")
    refused = viewer.request.post(
        "/admin/approvals/",
        headers={"X-CSRFToken": token},
        form={"approval_id": approval.pk, "decision": "approve"},
        max_redirects=0,
    )
    assert refused.status == 403 and "CSRF" not in refused.text()
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
    viewer.context.close()

    # Staff with every permission decide it from the list.
    page = staff_page
    page.goto("/admin/approvals/")
    row = page.locator(f'tr[data-approval-id="{approval.pk}"]')
    expect(row).to_contain_text("Manager approval")
    expect(row).to_contain_text("desk approval of fanout-approval")
    expect(row.locator("a.apr-run-link")).to_have_attribute(
        "href", f"/admin/workflows/run/{quote(run_id)}/change/"
    )
    row.get_by_label("Payload (optional JSON)").fill('{"note": "within budget"}')
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    row.locator("details.rawr-json summary").click()  # unfold the context to decide on
    expect(row.locator(".apr-context pre")).to_be_visible()
    expect(row.locator(".apr-context pre")).to_contain_text('"request": "new laptop"')

    row.get_by_role("button", name="Approve").click()

    expect(page.locator(".messagelist .success")).to_contain_text("Approved “Manager approval”")
    expect(page.locator("tr.apr-row")).to_have_count(0)
    expect(page.locator("#approvals-summary")).to_contain_text("Nothing is waiting")
    run = _poll(
        lambda: Run.objects.get(pk=run_id),
        lambda current: current.is_finished,
        f"run {run_id} to finish on the worker",
    )
    assert run.status == "completed", run.error
    approved = run.output["received"]
    assert approved["decision"] == "approve"
    assert approved["payload"] == {"note": "within budget"}
    assert approved["approvedBy"] == f"user:{staff_user.username}"
    decided = run.timeline.get(type="approval.decided").payload
    assert decided["by"] == approved["approvedBy"] and decided["payload"] == approved["payload"]

    page.goto(f"/admin/workflows/run/{quote(run_id)}/change/")
    expect(page.locator("body")).to_contain_text("completed")
    status = coordination.getRunStatus({"runId": run_id}).run
    assert status.status == "completed" and status.waiting_for is None
    assert json.loads(json.dumps(status.output))["deskId"] == "ship"
