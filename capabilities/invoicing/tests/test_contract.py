"""The invoicing contract on its surfaces: shapes, amounts, errors, pages.

One contract, so ``/api/orpc``, ``/rpc`` and the in-process client agree, and the JSON
Schema an MFE validates with refuses the same amounts the server does.
"""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest
from django.test import Client

from capabilities.invoicing.client import invoicing
from capabilities.invoicing.contract import contract
from rawr_site.contract import RawrError
from rawr_site.mfe.contracts import procedure_schemas
from tests.factories import issue_key

pytestmark = pytest.mark.django_db

JSON = {"content_type": "application/json"}
ACME = {
    "customer": "Acme Widgets Ltd",
    "email": "billing@acme.example",
    "currency": "EUR",
    "lines": [
        {"description": "Widget, large", "quantity": 10, "unitPrice": "12.50"},
        {"description": "Assembly (hours)", "quantity": 3, "unitPrice": 80},
    ],
}


@pytest.fixture
def api() -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(name='ext').secret}")


def _create(api: Client, body: dict) -> dict:
    response = api.post("/api/orpc/invoicing/invoices", json.dumps(body), **JSON)
    assert response.status_code == 200, response.content
    return response.json()["invoice"]


def test_create_invoice_stores_lines_and_answers_decimal_strings(api: Client) -> None:
    invoice = _create(api, ACME)
    assert invoice["invoiceId"].startswith("inv_")
    assert invoice["status"] == "draft"
    assert invoice["total"] == "365.00"
    assert [(line["unitPrice"], line["amount"]) for line in invoice["lines"]] == [
        ("12.50", "125.00"),
        ("80.00", "240.00"),
    ]
    assert (invoice["customer"], invoice["currency"]) == ("Acme Widgets Ltd", "EUR")
    assert invoice["rejectionReason"] is None and invoice["sentAt"] is None
    fetched = api.get(f"/api/orpc/invoicing/invoices/{invoice['invoiceId']}")
    assert fetched.json() == {"invoice": invoice}


def test_totals_are_exact_decimals_not_floats() -> None:
    # 3 x 0.10 as floats is 0.30000000000000004; 0.1 + 0.2 likewise.
    result = invoicing.totals(
        currency="USD",
        lines=[
            {"description": "a", "quantity": 3, "unitPrice": "0.10"},
            {"description": "b", "quantity": 1, "unitPrice": 0.2},
        ],
    )
    assert result.line_amounts == [Decimal("0.30"), Decimal("0.20")]
    assert result.total == Decimal("0.50") and isinstance(result.total, Decimal)
    assert result.model_dump(mode="json", by_alias=True) == {
        "currency": "USD",
        "lineAmounts": ["0.30", "0.20"],
        "total": "0.50",
    }


def test_totals_is_internal_on_rpc_and_client_only(api: Client) -> None:
    service = issue_key(name="svc", first_party=True).secret
    body = {"json": {"currency": "EUR", "lines": ACME["lines"]}}
    rpc = Client().post(
        "/rpc/invoicing/totals",
        json.dumps(body),
        HTTP_AUTHORIZATION=f"Bearer {service}",
        **JSON,
    )
    assert rpc.status_code == 200
    assert rpc.json()["json"]["total"] == "365.00"
    published = api.post("/api/orpc/invoicing/totals", json.dumps(body["json"]), **JSON)
    assert published.status_code == 404


BAD_AMOUNTS = ["abc", "12.345", "0", "0.00", "-5", "1e3", "10000000", "", " 12", 0, -1, 1e8]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_bad_amount_is_refused_by_the_schema_and_by_the_server_alike(api: Client, amount) -> None:
    body = {**ACME, "lines": [{"description": "x", "quantity": 1, "unitPrice": amount}]}
    schema = procedure_schemas(contract.get("createInvoice"))["input"]  # what ctx.contracts has
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(body))
    assert errors, f"the browser's schema accepted {amount!r}"

    response = api.post("/api/orpc/invoicing/invoices", json.dumps(body), **JSON)
    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["status"], error["defined"]) == ("BAD_REQUEST", 400, False)
    assert error["message"] == "Input validation failed"
    assert [issue["path"] for issue in error["data"]["issues"]] == [["lines", 0, "unitPrice"]]


@pytest.mark.parametrize("amount", ["12.50", "0.01", "9999999.99", ".5", "7", 12.5, 3])
def test_good_amounts_pass_the_schema_and_the_server(api: Client, amount) -> None:
    body = {**ACME, "lines": [{"description": "x", "quantity": 2, "unitPrice": amount}]}
    schema = procedure_schemas(contract.get("createInvoice"))["input"]
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(body)) == []
    invoice = _create(api, body)
    assert invoice["total"] == f"{Decimal(str(amount)) * 2:.2f}"


def test_bad_invoice_fields_are_400_with_one_issue_each(api: Client) -> None:
    body = {
        "customer": "   ",
        "email": "not-an-email",
        "currency": "eur",
        "lines": [{"description": "ok", "quantity": 0, "unitPrice": "1.00"}],
    }
    response = api.post("/api/orpc/invoicing/invoices", json.dumps(body), **JSON)
    assert response.status_code == 400
    paths = sorted(tuple(i["path"]) for i in response.json()["data"]["issues"])
    assert paths == [("currency",), ("customer",), ("email",), ("lines", 0, "quantity")]
    flag = {**ACME, "lines": [{"description": "x", "quantity": True, "unitPrice": "1.00"}]}
    refused = api.post("/api/orpc/invoicing/invoices", json.dumps(flag), **JSON)
    assert refused.status_code == 400
    assert [i["path"] for i in refused.json()["data"]["issues"]] == [["lines", 0, "quantity"]]
    no_lines = api.post("/api/orpc/invoicing/invoices", json.dumps({**ACME, "lines": []}), **JSON)
    assert no_lines.status_code == 400
    assert [i["path"] for i in no_lines.json()["data"]["issues"]] == [["lines"]]


def test_unknown_invoice_is_404_invoice_not_found_on_every_surface(api: Client) -> None:
    response = api.get("/api/orpc/invoicing/invoices/inv_missing")
    assert response.status_code == 404
    assert response.json() == {
        "defined": True,
        "code": "INVOICE_NOT_FOUND",
        "status": 404,
        "message": "Invoice inv_missing not found",
        "data": {"invoiceId": "inv_missing"},
    }
    service = issue_key(name="svc", first_party=True).secret
    rpc = Client().get(
        "/rpc/invoicing/getInvoice",
        {"data": json.dumps({"json": {"invoiceId": "inv_missing"}})},
        HTTP_AUTHORIZATION=f"Bearer {service}",
    )
    assert rpc.status_code == 404
    assert rpc.json() == {"json": response.json()}
    with pytest.raises(RawrError) as missing:
        invoicing.getInvoice(invoice_id="inv_missing")
    assert (missing.value.code, missing.value.status) == ("INVOICE_NOT_FOUND", 404)


def test_list_pages_newest_first_with_a_cursor(api: Client) -> None:
    ids = [_create(api, {**ACME, "customer": f"Customer {n}"})["invoiceId"] for n in range(5)]
    first = api.get("/api/orpc/invoicing/invoices?limit=2").json()
    assert [i["invoiceId"] for i in first["invoices"]] == ids[::-1][:2]
    second = api.get(f"/api/orpc/invoicing/invoices?limit=2&cursor={first['nextCursor']}").json()
    third = api.get(f"/api/orpc/invoicing/invoices?limit=2&cursor={second['nextCursor']}").json()
    seen = [i["invoiceId"] for page in (first, second, third) for i in page["invoices"]]
    assert seen == ids[::-1] and third["nextCursor"] is None

    garbled = api.get("/api/orpc/invoicing/invoices?cursor=inv_nope")
    assert garbled.status_code == 400 and garbled.json()["code"] == "INVALID_CURSOR"
    assert api.get("/api/orpc/invoicing/invoices?limit=0").status_code == 400
    drafts = api.get("/api/orpc/invoicing/invoices?status=sent").json()
    assert drafts == {"invoices": [], "nextCursor": None}
