"""Correlation ids: one per request, visible in every log line it causes."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.http import HttpRequest

_current: contextvars.ContextVar[str] = contextvars.ContextVar("rawr_correlation_id", default="-")

_SAFE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_TRACEPARENT_RE = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def correlation_id_from_headers(request_id: str | None, traceparent: str | None) -> str:
    """``X-Request-ID`` if it is a safe token, else the W3C trace id, else a new id."""
    if request_id and _SAFE_ID_RE.match(request_id.strip()):
        return request_id.strip()
    if traceparent:
        match = _TRACEPARENT_RE.match(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return uuid.uuid4().hex


def correlation_id_of(request: HttpRequest) -> str:
    cid = getattr(request, "correlation_id", None)
    if cid is None:
        cid = correlation_id_from_headers(
            request.headers.get("X-Request-ID"), request.headers.get("traceparent")
        )
        request.correlation_id = cid  # type: ignore[attr-defined]
    return cid


def set_current(correlation_id: str) -> contextvars.Token[str]:
    return _current.set(correlation_id)


def reset_current(token: contextvars.Token[str]) -> None:
    _current.reset(token)


def current_correlation_id() -> str:
    return _current.get()


class CorrelationIdFilter(logging.Filter):
    """Adds ``%(correlation_id)s`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = _current.get()
        return True
