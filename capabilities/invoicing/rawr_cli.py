"""The invoicing capability's demo invoices for ``manage.py rawr demo`` (``make run``).

Autodiscovered by the host's ``rawr`` command (``rawr_site.host.cli_registry``): the host
kit never imports a capability.
"""

from __future__ import annotations

from collections.abc import Iterator

from rawr_site.contract import BoundaryContext
from rawr_site.host.cli_registry import register_demo

DEMO_INVOICES = [
    {
        "customer": "Acme Widgets Ltd",
        "email": "billing@acme.example",
        "currency": "EUR",
        "lines": [
            {"description": "Widget, large", "quantity": 10, "unitPrice": "12.50"},
            {"description": "Assembly service (hours)", "quantity": 3, "unitPrice": "80.00"},
        ],
    },
    {
        "customer": "Globex Corporation",
        "email": "ap@globex.example",
        "currency": "USD",
        "lines": [{"description": "Annual support plan", "quantity": 1, "unitPrice": "4800.00"}],
    },
    {
        "customer": "Initech",
        "email": "finance@initech.example",
        "currency": "GBP",
        "lines": [
            {"description": "TPS report covers", "quantity": 250, "unitPrice": "0.35"},
            {"description": "Stapler, red", "quantity": 1, "unitPrice": "19.99"},
        ],
    },
]


def demo_invoices(ctx: BoundaryContext) -> Iterator[str]:
    """Idempotent: one draft per demo customer, created through the capability's client."""
    from capabilities.invoicing.client import invoicing
    from capabilities.invoicing.models import Invoice

    existing = set(Invoice.objects.values_list("customer", flat=True))
    created = 0
    for invoice in DEMO_INVOICES:
        if invoice["customer"] not in existing:
            invoicing.createInvoice(invoice, ctx=ctx)
            created += 1
    yield f"demo invoices: {created} created, {len(existing)} customers already there"


register_demo("invoicing.invoices", demo_invoices, order=30)
