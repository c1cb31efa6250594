"""Writes of the invoicing capability: every status change of an invoice happens here.

The approval workflow (``workflows.py``) calls these from its steps, so each must be
idempotent: a step that is re-run after a crash repeats its write with the same result
and never sends a second email once the first one is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from capabilities.invoicing.domain.totals import compute_totals, format_amount
from capabilities.invoicing.models import Invoice, InvoiceLine, InvoiceStatus


@dataclass(frozen=True)
class LineData:
    description: str
    quantity: int
    unit_price: Decimal


class InvoiceStateError(Exception):
    """The invoice is not in a status that allows the change (e.g. rejecting a sent one)."""


@transaction.atomic
def invoice_create(
    *, customer: str, email: str, currency: str, lines: Sequence[LineData]
) -> Invoice:
    """A draft invoice with its lines and total, in one transaction."""
    totals = compute_totals((line.quantity, line.unit_price) for line in lines)
    invoice = Invoice.objects.create(
        customer=customer, email=email, currency=currency, total=totals.total
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=amount,
        )
        for position, (line, amount) in enumerate(
            zip(lines, totals.line_amounts, strict=True), start=1
        )
    )
    return invoice


def _locked(invoice_id: str) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice_id)


@transaction.atomic
def invoice_totals_refresh(*, invoice_id: str) -> Invoice:
    """Recompute line amounts and the total from the stored lines (idempotent)."""
    invoice = _locked(invoice_id)
    lines = list(invoice.lines.order_by("position"))
    totals = compute_totals((line.quantity, line.unit_price) for line in lines)
    for line, amount in zip(lines, totals.line_amounts, strict=True):
        if line.amount != amount:
            line.amount = amount
            line.save(update_fields=["amount"])
    if invoice.total != totals.total:
        invoice.total = totals.total
        invoice.save(update_fields=["total", "updated_at"])
    return invoice


@transaction.atomic
def invoice_search_document_set(*, invoice_id: str, document_id: int) -> Invoice:
    invoice = _locked(invoice_id)
    invoice.search_document_id = document_id
    invoice.save(update_fields=["search_document_id", "updated_at"])
    return invoice


@transaction.atomic
def invoice_submit_for_approval(*, invoice_id: str, run_id: str) -> Invoice:
    """``draft -> awaiting_approval``, remembering the approval run (idempotent)."""
    invoice = _locked(invoice_id)
    if invoice.status == InvoiceStatus.AWAITING_APPROVAL and invoice.approval_run_id == run_id:
        return invoice
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError(
            f"invoice {invoice_id} is {invoice.status}; only a draft can be submitted"
        )
    invoice.status = InvoiceStatus.AWAITING_APPROVAL
    invoice.approval_run_id = run_id
    invoice.save(update_fields=["status", "approval_run_id", "updated_at"])
    return invoice


def invoice_email(invoice: Invoice) -> EmailMessage:
    """The email a customer receives for an approved invoice."""
    lines = [
        f"  {line.quantity} x {line.description} @ {format_amount(line.unit_price)}"
        f" = {format_amount(line.amount)} {invoice.currency}"
        for line in invoice.lines.order_by("position")
    ]
    body = "\n".join(
        [
            f"Dear {invoice.customer},",
            "",
            f"please find invoice {invoice.invoice_id} below.",
            "",
            *lines,
            "",
            f"Total: {format_amount(invoice.total)} {invoice.currency}",
        ]
    )
    return EmailMessage(
        subject=f"Invoice {invoice.invoice_id}: {format_amount(invoice.total)} {invoice.currency}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invoice.email],
        headers={"X-Rawr-Invoice": invoice.invoice_id},
    )


@transaction.atomic
def invoice_email_send(*, invoice_id: str) -> bool:
    """Email an approved invoice once. Returns ``False`` when it was already sent.

    The send and ``emailed_at`` share a transaction holding the invoice's row lock, so a
    replayed step, or two workers racing, send one email. (Only a crash between the SMTP
    hand-off and the commit can repeat it: email has no transactions.)
    """
    invoice = _locked(invoice_id)
    if invoice.emailed_at is not None:
        return False
    if invoice.status != InvoiceStatus.AWAITING_APPROVAL:
        raise InvoiceStateError(f"invoice {invoice_id} is {invoice.status}; not emailed")
    invoice_email(invoice).send(fail_silently=False)
    invoice.emailed_at = timezone.now()
    invoice.save(update_fields=["emailed_at", "updated_at"])
    return True


@transaction.atomic
def invoice_mark_sent(*, invoice_id: str, decided_by: str) -> Invoice:
    """``awaiting_approval -> sent`` once the email left (idempotent)."""
    invoice = _locked(invoice_id)
    if invoice.status == InvoiceStatus.SENT:
        return invoice
    if invoice.status != InvoiceStatus.AWAITING_APPROVAL or invoice.emailed_at is None:
        raise InvoiceStateError(f"invoice {invoice_id} is {invoice.status}; not marked sent")
    invoice.status = InvoiceStatus.SENT
    invoice.sent_at = invoice.emailed_at
    invoice.decided_by = decided_by
    invoice.save(update_fields=["status", "sent_at", "decided_by", "updated_at"])
    return invoice


@transaction.atomic
def invoice_reject(*, invoice_id: str, reason: str, decided_by: str) -> Invoice:
    """``awaiting_approval -> rejected`` with the reason (idempotent)."""
    invoice = _locked(invoice_id)
    if invoice.status == InvoiceStatus.REJECTED:
        return invoice
    if invoice.status != InvoiceStatus.AWAITING_APPROVAL:
        raise InvoiceStateError(f"invoice {invoice_id} is {invoice.status}; not rejected")
    invoice.status = InvoiceStatus.REJECTED
    invoice.rejection_reason = reason
    invoice.decided_by = decided_by
    invoice.save(update_fields=["status", "rejection_reason", "decided_by", "updated_at"])
    return invoice
