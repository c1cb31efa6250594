"""The ``invoicing.approval`` durable workflow, executed by the real engine in-process.

Triggered the way the MFE does (``POST /rpc/invoicing/approval`` with a session) and the
way an integrator does (``POST /api/workflows/invoicing/approval``); decided through
``/api/approvals/`` as staff. ``mail.outbox`` is Django's locmem backend (pytest-django).
"""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client

from capabilities.invoicing.client import invoicing
from capabilities.invoicing.models import Invoice
from capabilities.invoicing.services import invoice_email_send
from capabilities.search.client import search
from tests.conftest import csrf_headers
from tests.factories import UserFactory, issue_key, staff_client
from workflows.models import Run
from workflows.selectors import approval_pending_for_run
from workflows.testing import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_dispatch")]

JSON = {"content_type": "application/json"}


@pytest.fixture
def session_client() -> Client:
    """A signed-in MFE user (not staff) whose client enforces CSRF like a browser."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="clerk"))
    return client


@pytest.fixture
def invoice_id() -> str:
    created = invoicing.createInvoice(
        customer="Zebulon Gravel Works",
        email="ap@zebulon.example",
        currency="CHF",
        lines=[
            {"description": "Gravel (tonnes)", "quantity": 4, "unitPrice": "55.25"},
            {"description": "Delivery", "quantity": 1, "unitPrice": "90"},
        ],
    )
    return created.invoice.invoice_id


def _start(session_client: Client, invoice_id: str) -> str:
    response = session_client.post(
        "/rpc/invoicing/approval",
        json.dumps({"json": {"invoiceId": invoice_id}}),
        **JSON,
        **csrf_headers(session_client),
    )
    assert response.status_code == 200, response.content  # /rpc: oRPC answers 200
    body = response.json()["json"]
    assert body["accepted"] is True
    return body["runId"]


def _parked(session_client: Client, invoice_id: str) -> Run:
    run_id = _start(session_client, invoice_id)
    drain()
    run = Run.objects.get(pk=run_id)
    assert run.status == "waiting", run.error
    return run


def _decide(approval_id: str, decision: str, payload=None) -> None:
    staff = staff_client("decide_approval", "view_approval", username="approver")
    response = staff.post(
        f"/api/approvals/{approval_id}/decide",
        json.dumps({"decision": decision, "payload": payload}),
        **JSON,
    )
    assert response.status_code == 200, response.content
    drain()


def test_approved_invoice_is_emailed_marked_sent_and_findable(session_client, invoice_id) -> None:
    run = _parked(session_client, invoice_id)
    invoice = Invoice.objects.get(pk=invoice_id)
    assert invoice.status == "awaiting_approval" and invoice.approval_run_id == run.pk
    assert str(invoice.total) == "311.00"
    assert mail.outbox == []

    approval = approval_pending_for_run(run_id=run.pk)
    assert approval.title == f"Send invoice {invoice_id} to Zebulon Gravel Works (311.00 CHF)?"
    assert approval.context["total"] == "311.00" and len(approval.context["lines"]) == 2
    listed = staff_client("view_approval").get("/api/approvals/").json()["results"]
    assert [a["approvalId"] for a in listed] == [approval.pk]

    _decide(approval.pk, "approve", {"note": "fine"})

    run.refresh_from_db()
    assert run.status == "completed", run.error
    assert run.output["status"] == "sent" and run.output["by"] == "user:approver"
    invoice.refresh_from_db()
    assert invoice.status == "sent" and invoice.sent_at is not None
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ap@zebulon.example"]
    assert email.subject == f"Invoice {invoice_id}: 311.00 CHF"
    assert "4 x Gravel (tonnes) @ 55.25 = 221.00 CHF" in email.body
    assert "Total: 311.00 CHF" in email.body

    hits = search.query(q="Zebulon").results
    assert [hit.title for hit in hits] == [f"Invoice {invoice_id}: Zebulon Gravel Works"]
    published = invoicing.getInvoice(invoice_id=invoice_id).invoice
    assert published.status == "sent" and published.approval_run_id == run.pk

    # Executing the run again (a redelivered message) and re-sending change nothing.
    drain()
    assert invoice_email_send(invoice_id=invoice_id) is False
    assert len(mail.outbox) == 1
    assert search.query(q="Zebulon").total == 1


def test_rejected_invoice_keeps_the_reason_and_sends_nothing(session_client, invoice_id) -> None:
    run = _parked(session_client, invoice_id)
    approval = approval_pending_for_run(run_id=run.pk)

    _decide(approval.pk, "reject", {"reason": "Wrong delivery address"})

    run.refresh_from_db()
    assert run.status == "completed"
    assert run.output["status"] == "rejected"
    invoice = invoicing.getInvoice(invoice_id=invoice_id).invoice
    assert invoice.status == "rejected"
    assert invoice.rejection_reason == "Wrong delivery address"
    assert invoice.sent_at is None
    assert mail.outbox == []


def test_starting_approval_twice_answers_the_same_run(session_client, invoice_id) -> None:
    first = _start(session_client, invoice_id)
    again = _start(session_client, invoice_id)
    assert again == first
    published = Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(name='integrator').secret}").post(
        "/api/workflows/invoicing/approval", json.dumps({"invoiceId": invoice_id}), **JSON
    )
    assert published.status_code == 202 and published.json()["runId"] == first
    drain()
    assert Run.objects.filter(function_id="invoicing.approval").count() == 1


def test_approval_of_an_unknown_invoice_fails_with_its_code(session_client) -> None:
    run_id = _start(session_client, "inv_missing")
    drain()
    run = Run.objects.get(pk=run_id)
    assert run.status == "failed"
    assert run.error["code"] == "INVOICE_NOT_FOUND"
