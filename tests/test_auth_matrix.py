"""The auth matrix: every caller x every route family, each cell asserted.

Route families (issue: foundation, item 7): ``/rpc`` (first-party RPC), ``/api/orpc``
(published procedures), ``/api/workflows`` (durable-run triggers), ``/api`` DRF resources
(``/api/auth/whoami``), and the permission column: ``approveDesk``, which declares
``workflows.decide_approval`` in its contract, over ``/rpc`` and ``/api/orpc``. A plain
signed-in (MFE) user may call every procedure that declares no permission.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from capabilities.search.models import Document
from rawr_site.host.services import apikey_revoke
from tests.conftest import csrf_headers
from tests.factories import UserFactory, issue_key
from workflows.models import Approval, Run

pytestmark = pytest.mark.django_db

# (family, method, path, body) -- a write where the family has one, so CSRF matters.
ROUTES = {
    "rpc": ("post", "/rpc/search/indexDocument", {"json": {"title": "matrix doc"}}),
    "rpc-read": ("post", "/rpc/search/stats", {}),
    "orpc": ("post", "/api/orpc/search/documents", {"title": "matrix doc"}),
    "orpc-read": ("get", "/api/orpc/search/query?q=matrix", None),
    "workflows": ("post", "/api/workflows/search/enrich", {"documentId": 1}),
    "drf": ("get", "/api/auth/whoami", None),
    # A run that does not exist: a caller let through reaches the handler (404).
    "rpc-perm": (
        "post",
        "/rpc/coordination/approveDesk",
        {"json": {"runId": "no-such-run", "deskId": "approval", "decision": "approve"}},
    ),
    "orpc-perm": (
        "post",
        "/api/orpc/coordination/runs/no-such-run/desks/approval/approve",
        {"decision": "approve"},
    ),
}
PERMISSION = "workflows.decide_approval"

OK = "ok"
#: Let through auth and the declared permission: the handler answered 404 RUN_NOT_FOUND.
REACHED = "reached"
# caller -> family -> expected status (OK = the call succeeds)
MATRIX: dict[str, dict[str, int | str]] = {
    "anonymous": {
        "rpc": 401,
        "rpc-read": 401,
        "orpc": 401,
        "workflows": 401,
        "orpc-read": 401,
        "drf": 401,
        "rpc-perm": 401,
        "orpc-perm": 401,
    },
    "session+csrf": {
        "rpc": OK,
        "rpc-read": OK,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
        "rpc-perm": 403,
        "orpc-perm": 403,
    },
    "session-no-csrf": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": 403,
        "workflows": 403,
        "orpc-read": OK,
        "drf": OK,
        "rpc-perm": 403,
        "orpc-perm": 403,
    },
    "session+permission": {
        "rpc": OK,
        "rpc-read": OK,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
        "rpc-perm": REACHED,
        "orpc-perm": REACHED,
    },
    "service-token": {
        "rpc": OK,
        "rpc-read": OK,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
        "rpc-perm": REACHED,
        "orpc-perm": REACHED,
    },
    "external-key": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
        "rpc-perm": 403,
        "orpc-perm": REACHED,
    },
    "key-scoped-in": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": OK,
        "workflows": OK,
        "orpc-read": OK,
        "drf": OK,
        "rpc-perm": 403,
        "orpc-perm": 403,
    },
    "key-scoped-out": {
        "rpc": 403,
        "rpc-read": 403,
        "orpc": 403,
        "workflows": 403,
        "orpc-read": 403,
        "drf": OK,
        "rpc-perm": 403,
        "orpc-perm": 403,
    },
    "revoked-key": {
        "rpc": 401,
        "rpc-read": 401,
        "orpc": 401,
        "workflows": 401,
        "orpc-read": 401,
        "drf": 401,
        "rpc-perm": 401,
        "orpc-perm": 401,
    },
    "garbage-key": {
        "rpc": 401,
        "rpc-read": 401,
        "orpc": 401,
        "workflows": 401,
        "orpc-read": 401,
        "drf": 401,
        "rpc-perm": 401,
        "orpc-perm": 401,
    },
}

CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN"}


def _client_for(caller: str) -> tuple[Client, dict[str, str]]:
    if caller in ("session+csrf", "session-no-csrf", "session+permission"):
        client = Client(enforce_csrf_checks=True)
        user = UserFactory()
        if caller == "session+permission":
            user.user_permissions.add(Permission.objects.get(codename="decide_approval"))
        client.force_login(user)
        headers = csrf_headers(client) if caller != "session-no-csrf" else {}
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
    if expected == REACHED:
        assert response.status_code == 404, payload
        error = payload["json"] if path.startswith("/rpc/") else payload
        assert (error["code"], error["defined"]) == ("RUN_NOT_FOUND", True)
        return
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
    if caller == "session+csrf" and family.endswith("-perm"):
        # Authenticated but without the contract's permission: the refusal names it.
        assert error.pop("data") == {"permission": PERMISSION}
        assert PERMISSION in error["message"]
    assert set(error) == {"defined", "code", "status", "message"}
    assert error["code"] == CODES[expected]
    assert error["status"] == expected
    assert error["defined"] is False
    assert Document.objects.count() == before, "a refused call must write nothing"
    assert Run.objects.count() == runs_before
    assert not Approval.objects.exists()


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
