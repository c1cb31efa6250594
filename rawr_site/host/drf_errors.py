"""DRF exceptions in the one error shape (never ``{"detail": ...}``)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from rawr_site.contract.errors import COMMON_ERRORS, RawrError
from rawr_site.unavailable import (
    is_database_unavailable,
    log_unavailable,
    unavailable_error,
    with_retry_after,
)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if is_database_unavailable(exc):
        request = context.get("request")
        log_unavailable(getattr(request, "path", "?"), exc)
        error = unavailable_error()
        return with_retry_after(Response(error.body(), status=error.status))
    if isinstance(exc, RawrError):
        error = exc
    elif isinstance(exc, exceptions.ValidationError):
        error = RawrError(
            "BAD_REQUEST", 400, "Input validation failed", {"issues": _issues(exc.detail)}
        )
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        error = RawrError("UNAUTHORIZED", 401, str(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        error = RawrError.from_status(exc.status_code, str(exc.detail))
    else:
        response = drf_default_handler(exc, context)
        if response is None:
            return None
        error = RawrError.from_status(response.status_code)
    # The views of this API declare (in the published schema) every code they raise beyond
    # the common ones (RUN_NOT_FOUND, INVALID_RUN_ID ...): those are oRPC "defined" errors.
    response = Response(error.body(defined=error.code not in COMMON_ERRORS), status=error.status)
    if error.status == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="rawr"'
    return response


def _issues(detail: Any, path: list[Any] | None = None) -> list[dict[str, Any]]:
    path = path or []
    if isinstance(detail, dict):
        return [issue for key, value in detail.items() for issue in _issues(value, [*path, key])]
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [{"message": str(item), "path": path} for item in detail]
        return [issue for i, item in enumerate(detail) for issue in _issues(item, [*path, i])]
    return [{"message": str(detail), "path": path}]
