"""The invoicing MFE end to end: Chromium, ``live_server``, a real Celery worker.

A signed-in user opens ``/rawr/invoicing``, creates an invoice with two lines (a bad amount
is refused by the form from the contract's JSON Schema, and no request leaves the browser),
starts the approval run and sees it wait; staff approve it in the console inbox; the MFE,
without a reload, shows it sent. The worker emailed it (Django's file backend in the
worker's temp dir: ``WorkerProcess.sent_mail``) and the search MFE finds it by customer.
Back/forward between the two MFEs restores each one's sub-route. A rejection reaches an
open invoice page the same way, with its reason.

``RAWR_SCREENSHOTS=docs/mfe`` writes the screenshots there (default: the test's tmp dir).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from capabilities.invoicing.client import invoicing
from capabilities.invoicing.models import Invoice
from capabilities.invoicing.services import invoice_submit_for_approval
from capabilities.search.client import search
from tests.browser.conftest import STAFF_PASSWORD, TIMEOUT_MS
from tests.factories import UserFactory
from workflows import approval_decide, trigger
from workflows.selectors import approval_pending_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CUSTOMER = "Quokka Logistics GmbH"
WORKER_MS = 30_000


def _poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + WORKER_MS / 1000
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.2)


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[Page, str], None]:
    folder = Path(os.environ.get("RAWR_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(folder / f"invoicing-{name}.png"), full_page=True)

    return shot


@pytest.fixture
def user_page(browser: Browser, live_server, staff_user) -> Page:
    """A plain (not staff) user signed in through the host's login page.

    Depends on ``staff_user`` so the fast test password hasher is already set.
    """
    UserFactory(username="clerk")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/rawr/invoicing")
    expect(page).to_have_url(re.compile(r"/rawr/login/"))
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/rawr/invoicing")
    yield page
    context.close()


def test_invoice_is_created_approved_in_the_inbox_and_shown_sent_live(
    user_page: Page, staff_page: Page, live_server, celery_worker_process, shots
) -> None:
    page = user_page
    rpc: list[Request] = []
    page.on("request", lambda request: rpc.append(request) if "/rpc/" in request.url else None)
    mfe = page.locator('[data-capability="invoicing"]')
    expect(mfe.get_by_role("heading", name="Invoices")).to_be_visible()

    # -- the form: two lines, the first with a bad amount --------------------------------
    mfe.get_by_role("link", name="New invoice").click()
    expect(page).to_have_url(f"{live_server.url}/rawr/invoicing/new")
    form = mfe.get_by_role("form", name="New invoice")
    form.get_by_label("Customer").fill(CUSTOMER)
    form.get_by_label("Email").fill("billing@quokka.example")
    form.get_by_label("Currency").select_option("EUR")
    form.get_by_label("Line 1 description").fill("Freight, pallets")
    form.get_by_label("Line 1 quantity").fill("2")
    form.get_by_label("Line 1 unit price").fill("12.345")
    form.get_by_role("button", name="Add line").click()
    form.get_by_label("Line 2 description").fill("Insurance")
    form.get_by_label("Line 2 quantity").fill("1")
    form.get_by_label("Line 2 unit price").fill("30")
    sent_before = len(rpc)
    form.get_by_role("button", name="Create invoice").click()

    problems = form.get_by_role("alert", name="Problems")
    expect(problems).to_contain_text(
        "Line 1 unit price: must be a positive amount with at most 2 decimals, e.g. 12.50"
    )
    expect(form.get_by_label("Line 1 unit price")).to_have_attribute("aria-invalid", "true")
    expect(form).to_have_attribute("data-state", "invalid")
    page.wait_for_timeout(300)  # anything sent would have left by now
    assert rpc[sent_before:] == [], [r.url for r in rpc[sent_before:]]
    assert not Invoice.objects.filter(customer=CUSTOMER).exists()
    shots(page, "1-bad-amount-refused")

    form.get_by_label("Line 1 unit price").fill("12.50")
    form.get_by_role("button", name="Create invoice").click()
    expect(page).to_have_url(re.compile(r"/rawr/invoicing/invoices/inv_[0-9a-f]+$"))
    created = [r for r in rpc[sent_before:] if r.url.endswith("/rpc/invoicing/createInvoice")]
    assert len(created) == 1
    assert created[0].method == "POST" and created[0].headers.get("x-csrftoken")
    wire = json.loads(created[0].post_data)["json"]  # the oRPC RPC envelope
    assert [line["unitPrice"] for line in wire["lines"]] == ["12.50", "30"]
    invoice = Invoice.objects.get(customer=CUSTOMER)
    article = mfe.locator(f'article[data-invoice-id="{invoice.invoice_id}"]')
    expect(article.locator(".total")).to_have_text("55.00 EUR")
    expect(article.locator(".badge")).to_have_text("Draft")

    # -- start the approval; the run parks waiting for a person ---------------------------
    page.evaluate("window.__sameDocument = true")
    article.get_by_role("button", name="Start approval").click()
    status = article.get_by_role("status", name="Approval status")
    expect(status).to_contain_text("Waiting for approval", timeout=WORKER_MS)
    expect(status).to_have_text("Waiting for approval")
    expect(article.locator(".badge")).to_have_text("Awaiting approval")
    expect(article.get_by_role("button", name="Start approval")).to_be_hidden()
    run_id = article.get_by_role("region", name="Approval").get_attribute("data-run-id")
    approval = _poll(
        lambda: approval_pending_for_run(run_id=run_id),
        lambda found: found is not None,
        "the approval to be pending",
    )
    invoice.refresh_from_db()
    assert invoice.status == "awaiting_approval" and invoice.approval_run_id == run_id
    shots(page, "2-waiting-for-approval")

    # -- staff approve it in the console inbox ------------------------------------------
    staff_page.goto("/admin/approvals/")
    row = staff_page.locator(f'tr[data-approval-id="{approval.pk}"]')
    expect(row).to_contain_text(f"Send invoice {invoice.invoice_id} to {CUSTOMER} (55.00 EUR)?")
    shots(staff_page, "3-approvals-inbox")
    row.get_by_role("button", name="Approve").click()
    expect(staff_page.locator(".messagelist .success")).to_contain_text("Approved")

    # -- the MFE follows the run to the end, on the same document ---------------------------
    expect(status).to_have_text("Sent to billing@quokka.example", timeout=WORKER_MS)
    expect(article.locator(".badge")).to_have_text("Sent")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    shots(page, "4-sent-live")
    invoice.refresh_from_db()
    assert invoice.status == "sent" and invoice.sent_at is not None

    mail = _poll(
        lambda: [m for m in celery_worker_process.sent_mail() if m["X-Rawr-Invoice"] == invoice.pk],
        bool,
        "the worker to email the invoice",
    )
    assert len(mail) == 1
    assert mail[0]["To"] == "billing@quokka.example"
    assert mail[0]["Subject"] == f"Invoice {invoice.invoice_id}: 55.00 EUR"
    assert "Total: 55.00 EUR" in mail[0].get_payload()

    # -- the search MFE finds it by customer; back/forward keeps each sub-route ------------------
    assert [hit.title for hit in search.query(q="Quokka").results] == [
        f"Invoice {invoice.invoice_id}: {CUSTOMER}"
    ]
    page.get_by_role("navigation", name="Capabilities").get_by_role("link", name="Search").click()
    finder = page.locator('[data-capability="search"]')
    finder.get_by_label("Search text").fill("Quokka")
    finder.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/rawr/search/?\?q=Quokka$"))
    hit = finder.locator("li").filter(has_text=f"Invoice {invoice.invoice_id}: {CUSTOMER}")
    expect(hit).to_have_count(1)
    shots(page, "5-found-in-search")

    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/rawr/search")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/rawr/invoicing/invoices/{invoice.invoice_id}")
    expect(mfe.get_by_role("status", name="Approval status")).to_have_text(
        "Sent to billing@quokka.example"
    )
    page.go_forward()
    page.go_forward()
    expect(page).to_have_url(re.compile(r"/rawr/search/?\?q=Quokka$"))
    expect(finder.get_by_label("Search text")).to_have_value("Quokka")
    expect(finder.locator("li")).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True


def test_an_unknown_invoice_reaches_the_mfe_as_an_orpc_error_with_code_and_data(
    user_page: Page, live_server
) -> None:
    page = user_page
    answers = []
    page.on(
        "response",
        lambda response: answers.append(response) if "/rpc/invoicing/" in response.url else None,
    )
    page.goto("/rawr/invoicing/invoices/inv_missing")
    alert = page.locator('[data-capability="invoicing"]').get_by_role("alert")
    expect(alert).to_have_attribute("data-error-code", "INVOICE_NOT_FOUND")
    expect(alert).to_have_attribute("data-error-status", "404")
    expect(alert).to_have_attribute("data-error-data", '{"invoiceId":"inv_missing"}')
    expect(alert).to_contain_text("INVOICE_NOT_FOUND: Invoice inv_missing not found")
    [answer] = [a for a in answers if a.url.split("?")[0].endswith("/rpc/invoicing/getInvoice")]
    assert answer.status == 404
    assert answer.json()["json"]["defined"] is True  # the oRPC RPC error envelope


def test_a_rejection_reaches_the_open_invoice_page_with_its_reason(
    user_page: Page, celery_worker_process, shots
) -> None:
    invoice_id = invoicing.createInvoice(
        customer="Wombat Shipping",
        email="ap@wombat.example",
        currency="GBP",
        lines=[{"description": "Crates", "quantity": 3, "unitPrice": "9.99"}],
    ).invoice.invoice_id
    page = user_page
    page.goto(f"/rawr/invoicing/invoices/{invoice_id}")
    article = page.locator(f'article[data-invoice-id="{invoice_id}"]')
    expect(article.locator(".total")).to_have_text("29.97 GBP")
    article.get_by_role("button", name="Start approval").click()
    status = article.get_by_role("status", name="Approval status")
    expect(status).to_have_text("Waiting for approval", timeout=WORKER_MS)
    run_id = article.get_by_role("region", name="Approval").get_attribute("data-run-id")
    approval = approval_pending_for_run(run_id=run_id)

    approval_decide(
        approval_id=approval.pk, decision="reject", payload={"reason": "Wrong VAT"}, by="user:boss"
    )

    expect(status).to_have_text("Rejected: Wrong VAT", timeout=WORKER_MS)
    expect(article.locator(".badge")).to_have_text("Rejected")
    assert Invoice.objects.get(pk=invoice_id).rejection_reason == "Wrong VAT"
    assert not [m for m in celery_worker_process.sent_mail() if m["X-Rawr-Invoice"] == invoice_id]
    shots(page, "6-rejected-live")

    page.get_by_role("link", name="← Invoices").click()
    row = page.get_by_role("table", name="Invoices").locator(f'tr[data-invoice-id="{invoice_id}"]')
    expect(row).to_contain_text("Wombat Shipping")
    expect(row.locator(".badge")).to_have_text("Rejected")
    shots(page, "7-list")


def test_the_form_explains_each_rule_of_the_schema_and_sends_nothing(user_page: Page) -> None:
    page = user_page
    page.goto("/rawr/invoicing/new")
    form = page.get_by_role("form", name="New invoice")
    expect(form).to_be_visible()
    rpc: list[Request] = []
    page.on("request", lambda request: rpc.append(request) if "/rpc/" in request.url else None)
    form.get_by_label("Line 1 quantity").fill("0")
    form.get_by_role("button", name="Create invoice").click()
    problems = form.get_by_role("alert", name="Problems").locator("li")
    expect(problems).to_have_text(
        [
            "Customer: is required",
            "Email: is required",
            "Line 1 description: is required",
            "Line 1 quantity: must be a whole number from 1 to 100000",
            "Line 1 unit price: is required",
        ]
    )
    form.get_by_label("Email").fill("not an email")
    form.get_by_label("Line 1 unit price").fill("-3")
    form.get_by_role("button", name="Create invoice").click()
    expect(problems.filter(has_text="Email")).to_have_text(
        "Email: must be an email address, e.g. name@example.com"
    )
    expect(problems.filter(has_text="unit price")).to_have_text(
        "Line 1 unit price: must be a positive amount with at most 2 decimals, e.g. 12.50"
    )
    page.wait_for_timeout(300)
    assert rpc == [], [r.url for r in rpc]


def test_someone_elses_approval_run_is_not_watched_but_the_page_still_says_the_status(
    user_page: Page,
) -> None:
    invoice_id = invoicing.createInvoice(
        customer="Dingo Dairy",
        email="ap@dingo.example",
        currency="EUR",
        lines=[{"description": "Milk, l", "quantity": 100, "unitPrice": "0.89"}],
    ).invoice.invoice_id
    run = trigger("invoicing.approval", {"invoiceId": invoice_id}, principal="user:colleague").run
    invoice_submit_for_approval(invoice_id=invoice_id, run_id=run.pk)

    user_page.goto(f"/rawr/invoicing/invoices/{invoice_id}")
    article = user_page.locator(f'article[data-invoice-id="{invoice_id}"]')
    expect(article.get_by_role("status", name="Approval status")).to_have_text(
        "Approval status unavailable (Awaiting approval)"
    )
    expect(article.get_by_role("alert")).to_have_attribute("data-error-code", "RUN_NOT_FOUND")
    expect(article.get_by_role("button", name="Start approval")).to_be_hidden()
