"""Handlers of the invoicing contract: thin, they parse the context and call services/selectors."""

from __future__ import annotations

from capabilities.invoicing import selectors, services
from capabilities.invoicing.contract import (
    INVALID_CURSOR,
    INVOICE_NOT_FOUND,
    CreateInvoiceInput,
    GetInvoiceInput,
    Invoice,
    InvoiceEnvelope,
    InvoiceLine,
    InvoicePage,
    ListInvoicesInput,
    Totals,
    TotalsInput,
    contract,
)
from capabilities.invoicing.domain.totals import compute_totals
from capabilities.invoicing.models import Invoice as InvoiceRow
from rawr_site.contract import BoundaryContext


def invoice_out(invoice: InvoiceRow) -> Invoice:
    return Invoice(
        invoice_id=invoice.invoice_id,
        status=invoice.status,
        customer=invoice.customer,
        email=invoice.email,
        currency=invoice.currency,
        lines=[
            InvoiceLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
            )
            for line in invoice.lines.all()
        ],
        total=invoice.total,
        rejection_reason=invoice.rejection_reason or None,
        approval_run_id=invoice.approval_run_id or None,
        created_at=invoice.created_at,
        updated_at=invoice.updated_at,
        sent_at=invoice.sent_at,
    )


@contract.implement("createInvoice")
def create_invoice(ctx: BoundaryContext, data: CreateInvoiceInput) -> InvoiceEnvelope:
    created = services.invoice_create(
        customer=data.customer,
        email=data.email,
        currency=data.currency,
        lines=[
            services.LineData(line.description, line.quantity, line.unit_price)
            for line in data.lines
        ],
    )
    invoice = selectors.invoice_get(invoice_id=created.invoice_id)
    return InvoiceEnvelope(invoice=invoice_out(invoice))


@contract.implement("getInvoice")
def get_invoice(ctx: BoundaryContext, data: GetInvoiceInput) -> InvoiceEnvelope:
    invoice = selectors.invoice_get(invoice_id=data.invoice_id)
    if invoice is None:
        raise INVOICE_NOT_FOUND(
            f"Invoice {data.invoice_id} not found", data={"invoiceId": data.invoice_id}
        )
    return InvoiceEnvelope(invoice=invoice_out(invoice))


@contract.implement("listInvoices")
def list_invoices(ctx: BoundaryContext, data: ListInvoicesInput) -> InvoicePage:
    try:
        page, next_cursor = selectors.invoice_list(
            limit=data.limit, cursor=data.cursor, status=data.status
        )
    except selectors.UnknownCursor:
        raise INVALID_CURSOR(
            "The cursor is not one this API issued", data={"cursor": data.cursor}
        ) from None
    return InvoicePage(invoices=[invoice_out(row) for row in page], next_cursor=next_cursor)


@contract.implement("totals")
def totals(ctx: BoundaryContext, data: TotalsInput) -> Totals:
    result = compute_totals((line.quantity, line.unit_price) for line in data.lines)
    return Totals(currency=data.currency, line_amounts=result.line_amounts, total=result.total)
