"""A database that refuses connections is a 503 with ``Retry-After`` on every surface.

"Too many clients already", a refused connection or a pool that hands out no connection
in time is load, not a bug: the caller should come back. Each surface (``/rpc``,
``/api/orpc``, ``/api/workflows``, DRF's ``/api/runs``, the console's HTML pages, and a
failure inside a middleware, which reaches Django's 500 handler) answers 503, says when
to retry, and keeps its stable error body. The errors are raised where Django raises them
(inside ``wrap_database_errors``, so the view sees ``django.db.OperationalError`` caused by
the driver's error) on the request's first query. The real thing, a Postgres out of
connections under 200 concurrent triggers, is ``tests/e2e/test_connection_burst.py``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator

import psycopg
import psycopg.errors
import psycopg_pool
import pytest
from django.db import connection
from django.test import Client, RequestFactory

from rawr_site.errors_views import handler500
from rawr_site.unavailable import is_database_unavailable
from tests.factories import issue_key, staff_client

pytestmark = pytest.mark.django_db

RETRY_AFTER = "2"

#: What the database (or the pool) raises when there is no connection to be had.
REFUSALS: dict[str, Callable[[], Exception]] = {
    "pool-timeout": lambda: psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"),
    "too-many-clients": lambda: psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        "FATAL:  sorry, too many clients already"
    ),
    "too-many-connections-53300": lambda: psycopg.errors.TooManyConnections(
        "remaining connection slots are reserved for non-replication superuser connections"
    ),
    "admin-shutdown-57P01": lambda: psycopg.errors.AdminShutdown(
        "terminating connection due to administrator command"
    ),
}


@contextlib.contextmanager
def database_refuses(make_error: Callable[[], Exception]) -> Iterator[None]:
    """Every query on this thread's connection fails the way a refused connection does."""

    def refuse(execute, sql, params, many, context):
        with connection.wrap_database_errors:
            raise make_error()

    with connection.execute_wrapper(refuse):
        yield


def _api_client() -> Client:
    key = issue_key(name="unavailable", first_party=True)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def _assert_503(response, *, rpc: bool = False) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == RETRY_AFTER
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    if rpc:
        assert set(body) == {"json"}
        body = body["json"]
    assert body == {
        "defined": False,
        "code": "SERVICE_UNAVAILABLE",
        "status": 503,
        "message": "The database is busy or unavailable; retry in 2 s",
        "data": {"retryAfter": 2},
    }


@pytest.mark.parametrize("refusal", REFUSALS)
def test_rpc_answers_503_in_the_rpc_envelope(refusal: str) -> None:
    client = _api_client()
    with database_refuses(REFUSALS[refusal]):
        response = client.post("/rpc/search/stats", data={}, content_type="application/json")
    _assert_503(response, rpc=True)


@pytest.mark.parametrize("refusal", REFUSALS)
def test_published_route_answers_503(refusal: str) -> None:
    client = _api_client()
    with database_refuses(REFUSALS[refusal]):
        response = client.get("/api/orpc/search/query?q=busy")
    _assert_503(response)


@pytest.mark.parametrize("refusal", REFUSALS)
def test_workflow_trigger_answers_503(refusal: str) -> None:
    client = _api_client()
    with database_refuses(REFUSALS[refusal]):
        response = client.post(
            "/api/workflows/search/enrich", {"documentId": 1}, content_type="application/json"
        )
    _assert_503(response)


@pytest.mark.parametrize("refusal", REFUSALS)
def test_drf_resource_answers_503(refusal: str) -> None:
    client = staff_client("workflows.view_run")
    with database_refuses(REFUSALS[refusal]):
        response = client.get("/api/runs/")
    _assert_503(response)


def test_console_page_answers_a_plain_503_page() -> None:
    client = staff_client(superuser=True)
    with database_refuses(REFUSALS["too-many-clients"]):
        response = client.get("/admin/")
    assert response.status_code == 503
    assert response["Retry-After"] == RETRY_AFTER
    assert response["Content-Type"].startswith("text/html")
    assert b"Service Unavailable" in response.content


@pytest.mark.parametrize(
    ("path", "api"), [("/api/workflows/search/enrich", True), ("/admin/", False)]
)
def test_a_middleware_failure_reaching_the_500_handler_is_a_503(path: str, api: bool) -> None:
    """Django hands a middleware's exception to ``handler500`` while handling it."""
    request = RequestFactory().get(path)
    try:
        with connection.wrap_database_errors:
            raise REFUSALS["pool-timeout"]()
    except Exception:
        assert sys.exc_info()[1] is not None
        response = handler500(request)
    assert response.status_code == 503
    assert response["Retry-After"] == RETRY_AFTER
    assert response["Content-Type"].startswith("application/json" if api else "text/html")


def test_statement_errors_are_not_unavailability() -> None:
    """A deadlock or a bad statement is the request's problem, not the database's load."""
    for error in (
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.UndefinedColumn("column does not exist"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        ValueError("not a database error"),
    ):
        assert not is_database_unavailable(error), error
    assert is_database_unavailable(psycopg.errors.CannotConnectNow("the database is starting"))
