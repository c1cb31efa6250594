"""Money arithmetic for invoices: one rounding rule, used by the API, the workflow and the MFE.

Amounts are ``Decimal`` with two places (cents). A line's amount is quantity x unit price
rounded half-up to the cent; the total is the sum of the rounded line amounts, so the
figures printed on an invoice always add up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: int, unit_price: Decimal) -> Decimal:
    return to_cents(Decimal(quantity) * unit_price)


@dataclass(frozen=True)
class Totals:
    line_amounts: list[Decimal]
    total: Decimal


def compute_totals(lines: Iterable[tuple[int, Decimal]]) -> Totals:
    """``lines`` as ``(quantity, unit_price)`` pairs, in order."""
    amounts = [line_amount(quantity, price) for quantity, price in lines]
    return Totals(line_amounts=amounts, total=to_cents(sum(amounts, Decimal("0"))))


def format_amount(value: Decimal) -> str:
    """The wire form of an amount: a plain decimal string with exactly two places."""
    return f"{to_cents(value):.2f}"
