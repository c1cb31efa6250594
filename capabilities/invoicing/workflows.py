"""Durable functions of the invoicing capability (autodiscovered by the runtime).

``invoicing.approval`` takes a draft invoice to ``sent`` or ``rejected``:

1. ``compute-totals``: recompute line amounts and the total from the stored lines;
2. ``index-in-search``: make the invoice findable by customer through the search
   capability's in-process client;
3. ``submit``: mark it ``awaiting_approval``, then ``wait_for_approval`` parks the run
   until someone decides in the console inbox or ``/api/approvals/``;
4. approved: ``send-email`` (its own step, at most once) then ``mark-sent``;
   rejected: ``mark-rejected`` with the reason from the decision payload.

Every step is idempotent, so a re-run after a crash repeats nothing a user would notice.
"""

from __future__ import annotations

from typing import Any

from capabilities.invoicing.contract import ApprovalInput
from workflows import NonRetriableError, durable_function

APPROVAL_STEP = "approve-invoice"


@durable_function(
    "invoicing.approval",
    capability="invoicing",
    input=ApprovalInput,
    retries=3,
    idempotency_key=lambda data: f"invoice:{data.invoice_id}",
)
def approval(ctx, step) -> dict[str, Any]:
    """Approve an invoice, then email it (or record the rejection)."""
    invoice_id = ctx.input.invoice_id
    summary = step.run("compute-totals", _compute_totals, invoice_id)
    step.run("index-in-search", _index_in_search, invoice_id)
    step.run("submit", _submit, invoice_id, ctx.run_id)
    decision = step.wait_for_approval(
        APPROVAL_STEP,
        title=f"Send invoice {invoice_id} to {summary['customer']}"
        f" ({summary['total']} {summary['currency']})?",
        context=summary,
    )
    decided_by = str((decision or {}).get("decidedBy") or "")
    if decision is not None and decision.get("decision") == "approve":
        emailed = step.run("send-email", _send_email, invoice_id)
        step.run("mark-sent", _mark_sent, invoice_id, decided_by)
        return {"invoiceId": invoice_id, "status": "sent", "emailed": emailed, "by": decided_by}
    reason = rejection_reason(decision)
    step.run("mark-rejected", _mark_rejected, invoice_id, reason, decided_by)
    return {"invoiceId": invoice_id, "status": "rejected", "reason": reason, "by": decided_by}


def rejection_reason(decision: dict[str, Any] | None) -> str:
    """The reason a person gave: ``{"reason": ...}`` in the payload, or a plain string."""
    if decision is None:
        return "The approval expired."
    payload = decision.get("payload")
    if isinstance(payload, dict):
        payload = payload.get("reason") or payload.get("note")
    text = str(payload).strip() if isinstance(payload, str | int | float) else ""
    return text[:2000] or "No reason given."


def _invoice(invoice_id: str):
    from capabilities.invoicing.selectors import invoice_get

    invoice = invoice_get(invoice_id=invoice_id)
    if invoice is None:
        raise NonRetriableError(f"invoice {invoice_id} does not exist", code="INVOICE_NOT_FOUND")
    return invoice


def _compute_totals(invoice_id: str) -> dict[str, Any]:
    from capabilities.invoicing.domain.totals import format_amount
    from capabilities.invoicing.services import invoice_totals_refresh

    _invoice(invoice_id)
    invoice = invoice_totals_refresh(invoice_id=invoice_id)
    lines = invoice.lines.order_by("position")
    return {
        "invoiceId": invoice.invoice_id,
        "customer": invoice.customer,
        "email": invoice.email,
        "currency": invoice.currency,
        "total": format_amount(invoice.total),
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unitPrice": format_amount(line.unit_price),
                "amount": format_amount(line.amount),
            }
            for line in lines
        ],
    }


def _index_in_search(invoice_id: str) -> dict[str, Any]:
    """One search document per invoice: the document and its id on the invoice commit
    together, so a re-run finds the id and indexes nothing twice."""
    from django.db import transaction

    from capabilities.invoicing.domain.totals import format_amount
    from capabilities.invoicing.services import invoice_search_document_set
    from capabilities.search.client import search

    with transaction.atomic():
        invoice = _invoice(invoice_id)
        if invoice.search_document_id is not None:
            return {"documentId": invoice.search_document_id, "indexed": False}
        lines = "; ".join(f"{line.quantity} x {line.description}" for line in invoice.lines.all())
        document = search.indexDocument(
            title=f"Invoice {invoice.invoice_id}: {invoice.customer}",
            body=(
                f"Invoice to {invoice.customer} <{invoice.email}>, total "
                f"{format_amount(invoice.total)} {invoice.currency}. {lines}"
            ),
            tags=["invoice", invoice.currency.lower()],
        )
        invoice_search_document_set(invoice_id=invoice_id, document_id=document.document_id)
    return {"documentId": document.document_id, "indexed": True}


def _submit(invoice_id: str, run_id: str) -> dict[str, Any]:
    from capabilities.invoicing.services import InvoiceStateError, invoice_submit_for_approval

    try:
        invoice = invoice_submit_for_approval(invoice_id=invoice_id, run_id=run_id)
    except InvoiceStateError as exc:
        raise NonRetriableError(str(exc), code="INVOICE_NOT_DRAFT") from exc
    return {"status": invoice.status}


def _send_email(invoice_id: str) -> bool:
    from capabilities.invoicing.services import InvoiceStateError, invoice_email_send

    try:
        return invoice_email_send(invoice_id=invoice_id)
    except InvoiceStateError as exc:
        raise NonRetriableError(str(exc), code="INVOICE_STATE") from exc


def _mark_sent(invoice_id: str, decided_by: str) -> dict[str, Any]:
    from capabilities.invoicing.services import invoice_mark_sent

    invoice = invoice_mark_sent(invoice_id=invoice_id, decided_by=decided_by)
    return {"status": invoice.status, "sentAt": invoice.sent_at.isoformat()}


def _mark_rejected(invoice_id: str, reason: str, decided_by: str) -> dict[str, Any]:
    from capabilities.invoicing.services import invoice_reject

    invoice = invoice_reject(invoice_id=invoice_id, reason=reason, decided_by=decided_by)
    return {"status": invoice.status, "reason": invoice.rejection_reason}
