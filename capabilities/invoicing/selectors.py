"""Reads of the invoicing capability."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from capabilities.invoicing.models import Invoice, InvoiceLine


def _with_lines() -> QuerySet[Invoice]:
    return Invoice.objects.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position"))
    )


def invoice_get(*, invoice_id: str) -> Invoice | None:
    return _with_lines().filter(pk=invoice_id).first()


class UnknownCursor(LookupError):
    """The cursor names no invoice (it was not issued by ``invoice_list``, or is gone)."""


def invoice_list(
    *, limit: int, cursor: str | None = None, status: str | None = None
) -> tuple[list[Invoice], str | None]:
    """Newest first; keyset pages on ``(created_at, invoice_id)``.

    The cursor is the last invoice id of the previous page, so a page never repeats or
    skips a row when invoices are created meanwhile. Returns the page and the next cursor
    (``None`` on the last page).
    """
    rows = _with_lines().order_by("-created_at", "-invoice_id")
    if status:
        rows = rows.filter(status=status)
    if cursor:
        anchor = Invoice.objects.filter(pk=cursor).values_list("created_at", flat=True).first()
        if anchor is None:
            raise UnknownCursor(cursor)
        rows = rows.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, invoice_id__lt=cursor))
    page = list(rows[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1].invoice_id if more and page else None)
