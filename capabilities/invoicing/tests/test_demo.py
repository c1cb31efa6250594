"""``manage.py rawr demo`` (what ``make run`` loads) brings a few invoices, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from capabilities.invoicing.client import invoicing
from capabilities.invoicing.rawr_cli import DEMO_INVOICES

pytestmark = pytest.mark.django_db


def test_demo_invoices_are_created_once_through_the_contract() -> None:
    out = io.StringIO()
    call_command("rawr", "demo", stdout=out)
    call_command("rawr", "demo", stdout=out)
    assert "demo invoices: 3 created" in out.getvalue()
    assert "demo invoices: 0 created, 3 customers already there" in out.getvalue()
    page = invoicing.listInvoices(limit=10)
    assert sorted(i.customer for i in page.invoices) == sorted(d["customer"] for d in DEMO_INVOICES)
    assert {i.status for i in page.invoices} == {"draft"}
    totals = {i.customer: str(i.total) for i in page.invoices}
    assert totals["Acme Widgets Ltd"] == "365.00" and totals["Initech"] == "107.49"
