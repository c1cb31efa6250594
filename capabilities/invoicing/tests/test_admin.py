"""Invoices in the console: listed under Capabilities, readable, never edited by hand."""

from __future__ import annotations

import pytest

from capabilities.invoicing.client import invoicing
from tests.factories import staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice_id() -> str:
    return invoicing.createInvoice(
        customer="Numbat Textiles",
        email="ap@numbat.example",
        currency="SEK",
        lines=[
            {"description": "Wool, kg", "quantity": 12, "unitPrice": "140.00"},
            {"description": "Dyeing", "quantity": 1, "unitPrice": "350"},
        ],
    ).invoice.invoice_id


def test_staff_find_invoices_in_the_console_and_read_their_lines(invoice_id) -> None:
    client = staff_client("invoicing.view_invoice")
    index = client.get("/admin/")
    assert index.status_code == 200 and b"/admin/invoicing/invoice/" in index.content

    found = client.get("/admin/invoicing/invoice/", {"q": "Numbat"})
    assert found.status_code == 200
    assert invoice_id.encode() in found.content and b"2030.00" in found.content

    page = client.get(f"/admin/invoicing/invoice/{invoice_id}/change/")
    assert page.status_code == 200
    assert b"Wool, kg" in page.content and b"Dyeing" in page.content
    assert b'name="_save"' not in page.content  # read-only: no save button


def test_nobody_adds_or_edits_invoices_in_the_console(invoice_id) -> None:
    client = staff_client(superuser=True)
    assert client.get("/admin/invoicing/invoice/add/").status_code == 403
    edited = client.post(
        f"/admin/invoicing/invoice/{invoice_id}/change/", {"customer": "Someone else"}
    )
    assert edited.status_code == 403
    assert invoicing.getInvoice(invoice_id=invoice_id).invoice.customer == "Numbat Textiles"
    assert client.post(f"/admin/invoicing/invoice/{invoice_id}/delete/").status_code == 403
