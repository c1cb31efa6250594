"""The auth matrix: every caller x every route family, each cell asserted.

Route families (issue: foundation, item 7): ``/rpc`` (first-party RPC), ``/api/orpc``
(published procedures), ``/api/workflows`` (durable-run triggers), ``/api`` DRF resources
(``/api/auth/whoami``).
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from capabilities.search.models import Document
from rawr_site.host.services import apikey_revoke
from tests.conftest import csrf_headers
from tests.factories import UserFactory, issue_key
from workflows.models import Run

pytestmark = pytest.mark.django_db

# (family, method, path, body) -- a write where the family has one, so CSRF matters.
ROUTES = {
    "rpc": ("post", "/rpc/search/indexDocument", {"json": {"title": "matrix doc"}}),
    "rpc-read": ("post", "/rpc/search/stats", {}),
    "orpc": ("post", "/api/orpc/search/documents", {"title": "matrix doc"}),
    "orpc-read": ("get", "/api/orpc/search/query?q=matrix", None),
    "workflows": ("post", "/api/workflows/search/enrich", {"documentId": 1}),
    "drf": ("get", "/api/auth/whoami", None),
}

OK = "ok"
# caller -> family -> expected status (OK = the call succeeds)
MATRIX: dict[str, dict[str, int | str]] = {
    "anonymous": {
        "rpc": 401,
        "rpc-read": 401,
        "orpc": 401,
        "workflows": 401,
        "orpc-read": 401,
        "drf": 401,
    },
    "session+csrf": {
        "rpc": OK,
        "rpc-read": OK,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
    },
    "session-no-csrf": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": 403,
        "workflows": 403,
        "orpc-read": OK,
        "drf": OK,
    },
    "service-token": {
        "rpc": OK,
        "rpc-read": OK,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
    },
    "external-key": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
    },
    "key-scoped-in": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
    },
    "key-scoped-out": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": 403,
        "workflows": 403,
        "orpc-read": 403,
        "drf": OK,
    },
    "revoked-key": {
        "rpc": 401,
        "rpc-read": 401,
        "orpc": 401,
        "workflows": 401,
        "orpc-read": 401,
        "drf": 401,
    },
    "garbage-key": {
        "rpc": 401,
        "rpc-read": 401,
        "orpc": 401,
        "workflows": 401,
        "orpc-read": 401,
        "drf": 401,
    },
}

CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN"}


def _client_for(caller: str) -> tuple[Client, dict[str, str]]:
    if caller in ("session+csrf", "session-no-csrf"):
        client = Client(enforce_csrf_checks=True)
        client.force_login(UserFactory())
        headers = csrf_headers(client) if caller == "session+csrf" else {}
        return client, headers
    if caller == "anonymous":
        return Client(enforce_csrf_checks=True), {}
    if caller == "garbage-key":
        secret = "rawr_deadbeef_not-a-real-secret"
    else:
        issued = {
            "service-token": lambda: issue_key(name="svc", first_party=True),
            "external-key": lambda: issue_key(name="ext"),
            "key-scoped-in": lambda: issue_key(name="in", scopes=["search"]),
            "key-scoped-out": lambda: issue_key(name="out", scopes=["billing"]),
            "revoked-key": lambda: issue_key(name="revoked"),
        }[caller]()
        if caller == "revoked-key":
            apikey_revoke(api_key=issued.api_key)
        secret = issued.secret
    return Client(enforce_csrf_checks=True), {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


CELLS = [(caller, family) for caller in MATRIX for family in ROUTES]


@pytest.mark.parametrize(("caller", "family"), CELLS, ids=[f"{c}->{f}" for c, f in CELLS])
def test_auth_matrix_cell(caller: str, family: str) -> None:
    client, headers = _client_for(caller)
    method, path, body = ROUTES[family]
    before = Document.objects.count()
    runs_before = Run.objects.count()
    kwargs = (
        {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    )
    response = getattr(client, method)(path, **kwargs, **headers)
    expected = MATRIX[caller][family]

    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    if expected == OK:
        assert 200 <= response.status_code < 300, payload
        if family in ("rpc", "orpc"):
            assert Document.objects.count() == before + 1
        if family == "workflows":
            assert response.status_code == 202
            assert payload["accepted"] is True
            assert Run.objects.get(pk=payload["runId"]).function_id == "search.enrich"
        return
    assert response.status_code == expected, payload
    error = payload["json"] if path.startswith("/rpc/") else payload
    assert set(error) == {"defined", "code", "status", "message"}
    assert error["code"] == CODES[expected]
    assert error["status"] == expected
    assert error["defined"] is False
    assert Document.objects.count() == before, "a refused call must write nothing"
    assert Run.objects.count() == runs_before


def test_matrix_covers_every_caller_and_family() -> None:
    assert all(set(row) == set(ROUTES) for row in MATRIX.values())


def test_key_use_is_tracked_and_only_the_prefix_is_stored() -> None:
    issued = issue_key(name="tracked")
    key = issued.api_key
    assert key.last_used_at is None
    assert issued.secret not in (key.secret_hash, key.prefix)
    assert issued.secret.startswith(f"rawr_{key.prefix}_")
    response = Client().get("/api/auth/whoami", HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert response.status_code == 200
    assert response.json() == {
        "kind": "api_key",
        "name": key.prefix,
        "callerMode": "external",
        "scopes": None,
    }
    key.refresh_from_db()
    assert key.last_used_at is not None
