"""JSON bodies are held to the published schema's types (issue 10: `true` is not an id).

Query strings stay text converted by type (``?documentId=5``); a JSON body says what it
means, so a boolean is no integer, a string is no number and a number is no string, on
``/rpc`` and on the published routes alike. ``3.0`` is still the integer 3 (JSON Schema's
integer, and JavaScript's). Nothing is stored when the input is refused.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from capabilities.invoicing.models import Invoice
from capabilities.search.models import Document
from tests.factories import issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_key(name='strict').secret}"}


@pytest.fixture
def rpc() -> dict[str, str]:
    key = issue_key(name="strict service", first_party=True)
    return {"HTTP_AUTHORIZATION": f"Bearer {key.secret}"}


def _post(path: str, body: object, auth: dict[str, str]):
    return Client().post(path, data=json.dumps(body), content_type="application/json", **auth)


def _line(**changes: object) -> dict[str, object]:
    return {"description": "Widget", "quantity": 2, "unitPrice": "12.50", **changes}


def _invoice(**line: object) -> dict[str, object]:
    return {
        "customer": "ACME",
        "email": "ap@acme.test",
        "currency": "EUR",
        "lines": [_line(**line)],
    }


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (_invoice(quantity=True), ["lines", 0, "quantity"]),
        (_invoice(quantity="2"), ["lines", 0, "quantity"]),
        (_invoice(description=7), ["lines", 0, "description"]),
        ({**_invoice(), "customer": ["ACME"]}, ["customer"]),
    ],
    ids=["true-as-int", "string-as-int", "int-as-string", "list-as-string"],
)
def test_wrong_json_types_are_400_on_the_published_route_and_rpc(api, rpc, body, path) -> None:
    for route, auth, wrap in (
        ("/api/orpc/invoicing/invoices", api, False),
        ("/rpc/invoicing/createInvoice", rpc, True),
    ):
        response = _post(route, {"json": body} if wrap else body, auth)
        assert response.status_code == 400, (route, response.content)
        error = response.json()["json"] if wrap else response.json()
        assert error["code"] == "BAD_REQUEST"
        assert [issue["path"] for issue in error["data"]["issues"]] == [path]
    assert not Invoice.objects.exists()


def test_a_title_of_true_is_refused_and_nothing_is_indexed(api) -> None:
    response = _post("/api/orpc/search/documents", {"title": True}, api)
    assert response.status_code == 400
    assert response.json()["data"]["issues"][0]["path"] == ["title"]
    assert not Document.objects.exists()


def test_an_integral_float_is_an_integer_and_query_strings_stay_text(api) -> None:
    created = _post("/api/orpc/invoicing/invoices", _invoice(quantity=2.0), api)
    assert created.status_code == 200, created.content
    assert created.json()["invoice"]["lines"][0]["quantity"] == 2

    document = _post("/api/orpc/search/documents", {"title": "Strict"}, api).json()
    found = Client().get(f"/api/orpc/search/documents/{document['documentId']}", **api)
    assert found.status_code == 200 and found.json()["title"] == "Strict"
    hits = Client().get("/api/orpc/search/query?q=strict&limit=5", **api)
    assert hits.status_code == 200 and hits.json()["total"] == 1
