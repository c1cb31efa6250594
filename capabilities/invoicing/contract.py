"""The invoicing capability's contract: every payload shape, route, visibility and error.

``/rpc/invoicing/*``, ``/api/orpc/invoicing/*``, ``/api/workflows/invoicing/*``, the
in-process client, the OpenAPI entries and the JSON Schemas the MFE validates its form
with are all derived from this module. Amount rules live here once: a unit price is a
decimal string (``"12.50"``) or a number, positive, at most two decimals and below ten
million; the same JSON Schema refuses a bad amount in the browser before any request.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from capabilities.invoicing.domain.totals import format_amount
from rawr_site.contract import Contract, ErrorSpec, Schema
from workflows.surface import workflow_trigger

contract = Contract(
    "invoicing",
    title="Invoicing",
    description="Invoices with lines in one currency; approval before they are emailed.",
)

INVOICE_NOT_FOUND = ErrorSpec("INVOICE_NOT_FOUND", 404, "Invoice not found")
INVALID_CURSOR = ErrorSpec("INVALID_CURSOR", 400, "Invalid cursor")

#: Positive, at most 7 integer digits and 2 decimals, not zero (no lookaround: JSON Schema
#: validators and pydantic's regex engine both run it).
AMOUNT_PATTERN = r"^(0*[1-9][0-9]{0,6}(\.[0-9]{1,2})?|0*\.(0[1-9]|[1-9][0-9]?))$"
AMOUNT_MIN = Decimal("0.01")
AMOUNT_MAX = Decimal("9999999.99")
#: No whitespace (``\x85`` and ``\uFEFF`` spelled out: Rust's ``\s``, which pydantic
#: applies, and JavaScript's, which clients and fuzzers apply, differ on those two).
EMAIL_PATTERN = r"^[^@\s\x85\uFEFF]+@[^@\s\x85\uFEFF.]+(\.[^@\s\x85\uFEFF.]+)+$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MAX_LINES = 50
MAX_QUANTITY = 100_000

_AMOUNT_RE = re.compile(AMOUNT_PATTERN)
_AMOUNT_HELP = "a positive amount with at most 2 decimals, e.g. 12.50"


def _amount(value: Any) -> Any:
    """A string must match ``AMOUNT_PATTERN`` exactly, as the published schema says; a
    number is read through its text (``0.1`` is 0.1, not the binary float). Returning a
    ``Decimal`` keeps the bounds check below the same in lax and strict (JSON) parsing."""
    if isinstance(value, bool):
        raise ValueError(f"must be {_AMOUNT_HELP}")
    if isinstance(value, str):
        if _AMOUNT_RE.fullmatch(value) is None:
            raise ValueError(f"must be {_AMOUNT_HELP}")
        return Decimal(value)
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def _no_bool(value: Any) -> Any:
    """JSON ``true`` is no quantity (Python would read it as 1; the schema says integer)."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    return value


UnitPrice = Annotated[
    Decimal,
    BeforeValidator(_amount),
    Field(ge=AMOUNT_MIN, le=AMOUNT_MAX, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": AMOUNT_PATTERN},
                {
                    "type": "number",
                    "minimum": float(AMOUNT_MIN),
                    "maximum": float(AMOUNT_MAX),
                    "multipleOf": 0.01,
                },
            ],
            "description": f"Unit price: {_AMOUNT_HELP} (a decimal string is exact).",
            "examples": ["12.50"],
        },
        mode="validation",
    ),
]

#: An amount on the way out: always a decimal string with two places (never a float).
Money = Annotated[
    Decimal,
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["125.00"]},
        mode="serialization",
    ),
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"\S")]
Currency = Annotated[
    str,
    StringConstraints(pattern=CURRENCY_PATTERN),
    Field(description="ISO 4217 code, upper case (EUR, USD, ...).", examples=["EUR"]),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN),
    # No `format: email`: the pattern is the rule the server applies (a fuzzer holds
    # the schema to it), and it is looser than RFC 5322's full grammar.
    Field(description="Where the invoice is sent (an address like `name@example.com`)."),
]
InvoiceId = Annotated[
    str, StringConstraints(min_length=1, max_length=64), Field(description="The invoice's id.")
]
InvoiceStatus = Literal["draft", "awaiting_approval", "sent", "rejected"]


class LineInput(Schema):
    description: Annotated[Text, StringConstraints(max_length=500)]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY), BeforeValidator(_no_bool)]
    unit_price: UnitPrice


Lines = Annotated[list[LineInput], Field(min_length=1, max_length=MAX_LINES)]


class CreateInvoiceInput(Schema):
    customer: Annotated[Text, StringConstraints(max_length=200)]
    email: Email
    currency: Currency
    lines: Lines


class InvoiceLine(Schema):
    description: str
    quantity: int
    unit_price: Money
    amount: Money


class Invoice(Schema):
    invoice_id: str
    status: InvoiceStatus
    customer: str
    email: str
    currency: str
    lines: list[InvoiceLine]
    total: Money
    rejection_reason: str | None = None
    approval_run_id: str | None = None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None


class InvoiceEnvelope(Schema):
    invoice: Invoice


class GetInvoiceInput(Schema):
    invoice_id: InvoiceId


class ListInvoicesInput(Schema):
    limit: Annotated[int, Field(ge=1, le=100, description="Page size.")] = 20
    cursor: Annotated[
        str | None,
        Field(max_length=64, description="`nextCursor` of the previous page."),
    ] = None
    status: Annotated[InvoiceStatus | None, Field(description="Only invoices in this status.")] = (
        None
    )


class InvoicePage(Schema):
    invoices: list[Invoice]
    next_cursor: str | None = None


class TotalsInput(Schema):
    currency: Currency
    lines: Lines


class Totals(Schema):
    currency: str
    line_amounts: list[Money]
    total: Money


create_invoice = contract.procedure(
    "createInvoice",
    input=CreateInvoiceInput,
    output=InvoiceEnvelope,
    route=("POST", "/invoicing/invoices"),
    visibility="external",
    summary="Create a draft invoice",
    description="Stores the invoice with its lines and computed total, in status `draft`.",
)

get_invoice = contract.procedure(
    "getInvoice",
    input=GetInvoiceInput,
    output=InvoiceEnvelope,
    route=("GET", "/invoicing/invoices/{invoiceId}"),
    visibility="external",
    summary="Get an invoice",
    errors=[INVOICE_NOT_FOUND],
)

list_invoices = contract.procedure(
    "listInvoices",
    input=ListInvoicesInput,
    output=InvoicePage,
    route=("GET", "/invoicing/invoices"),
    visibility="external",
    summary="List invoices, newest first",
    description="Keyset pages: pass `nextCursor` back as `cursor` until it is null.",
    errors=[INVALID_CURSOR],
)

totals = contract.procedure(
    "totals",
    input=TotalsInput,
    output=Totals,
    route=("POST", "/invoicing/totals"),
    visibility="internal",
    summary="Line amounts and total of draft lines (first-party only)",
    description="The rounding rule invoices are stored with, for a live total in a form.",
)


class ApprovalInput(Schema):
    invoice_id: Annotated[
        str,
        StringConstraints(min_length=1, max_length=64),
        Field(description="The invoice to approve and send."),
    ]


approval = workflow_trigger(
    contract,
    "approval",
    function="invoicing.approval",
    input=ApprovalInput,
    route=("POST", "/invoicing/approval"),
    summary="Submit an invoice for approval, then email it (durable run)",
    description=(
        "Computes the totals, makes the invoice findable in search, waits for a person to "
        "approve it (`/api/approvals/`, the console inbox), then emails it and marks it "
        "`sent`, or marks it `rejected` with the reason. One run per invoice: starting it "
        "again answers the existing run. Answers 202 at once."
    ),
)
