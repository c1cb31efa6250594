""" "The database is unavailable": decided here once, answered 503 + ``Retry-After`` everywhere.

When Postgres refuses a connection ("too many clients already", connection refused, the
server shutting down) or the web process's pool hands none out in time
(``psycopg_pool.PoolTimeout``), the request failed for a reason the client can fix by
waiting, not because of a bug. Every surface asks :func:`is_database_unavailable` and
answers with :func:`unavailable_error` (the stable error object, code
``SERVICE_UNAVAILABLE``) plus a ``Retry-After`` header: the contract transports
(``/rpc``, ``/api/orpc``, ``/api/workflows``: ``rawr_site.transports.execution``), DRF
(``rawr_site.host.drf_errors``), any other view (``rawr_site.middleware``) and errors
raised by a middleware itself (``rawr_site.errors_views.handler500``). HTML pages get a
plain 503 page.

Errors the database raises for a *statement* (a constraint, a syntax error, a deadlock)
are not "unavailable": they keep their own mapping.
"""

from __future__ import annotations

import html
import logging
import sqlite3

import psycopg
import psycopg_pool
from django.conf import settings
from django.http import HttpResponse

from rawr_site.contract.errors import RawrError

logger = logging.getLogger("rawr.http")

#: SQLSTATE classes/codes that mean "no connection for you right now": 08 connection
#: exception, 53 insufficient resources (53300 too_many_connections), 57P01-57P03 the
#: server is shutting down, crashed or not yet accepting connections.
_UNAVAILABLE_CLASSES = ("08", "53")
_UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03"})
_MAX_CHAIN = 10


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what it wraps) says the database refused or lost the connection.

    Django re-raises driver errors as ``django.db.utils.OperationalError`` with the
    driver's error as ``__cause__``, so the chain is followed. A psycopg error without
    SQLSTATE was raised by libpq before any statement ran: the connection itself failed.
    """
    seen = 0
    while exc is not None and seen < _MAX_CHAIN:
        if isinstance(exc, psycopg_pool.PoolTimeout | psycopg_pool.TooManyRequests):
            return True
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            return (
                state is None
                or state.startswith(_UNAVAILABLE_CLASSES)
                or state in _UNAVAILABLE_CODES
            )
        if isinstance(exc, sqlite3.OperationalError):
            return "database is locked" in str(exc)
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def retry_after_seconds() -> int:
    return max(1, int(settings.RAWR_DB_RETRY_AFTER_SECONDS))


def unavailable_error() -> RawrError:
    """The error object every surface answers with (code ``SERVICE_UNAVAILABLE``, 503)."""
    seconds = retry_after_seconds()
    return RawrError(
        "SERVICE_UNAVAILABLE",
        503,
        f"The database is busy or unavailable; retry in {seconds} s",
        {"retryAfter": seconds},
    )


def with_retry_after(response: HttpResponse) -> HttpResponse:
    """``response`` with the ``Retry-After`` header (works for DRF responses too)."""
    response["Retry-After"] = str(retry_after_seconds())
    return response


def log_unavailable(path: str, exc: BaseException | None) -> None:
    """One warning line, no traceback: a refused connection is load, not a bug."""
    logger.warning("database unavailable on %s (503): %s: %s", path, type(exc).__name__, exc)


def unavailable_page() -> HttpResponse:
    """The plain 503 page for HTML routes (the console), with ``Retry-After``.

    Built here, not from a template: rendering one could run context processors that need
    the database that just failed. API routes answer :func:`unavailable_error` in their
    own wire shape instead.
    """
    seconds = retry_after_seconds()
    message = html.escape(f"The database is busy or unavailable. Retry in {seconds} seconds.")
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>503 Service Unavailable</title></head><body>"
        f"<h1>Service Unavailable</h1><p>{message}</p></body></html>"
    )
    response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    return with_retry_after(response)
