"""Django error views: JSON under ``/rpc`` and ``/api``, Django's defaults elsewhere.

A 500 whose cause is an unavailable database is a 503 with ``Retry-After`` instead
(``rawr_site.unavailable``).
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

from rawr_site.contract.errors import RawrError
from rawr_site.middleware import database_unavailable_response, is_api_path
from rawr_site.transports.wire import error_response_for_path
from rawr_site.unavailable import is_database_unavailable, log_unavailable


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response_for_path(request.path, RawrError("NOT_FOUND", 404, "Not Found"))
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception (from a middleware too, where no
    # ``process_exception`` sees it), so the exception is still ``sys.exc_info()``.
    exception = sys.exc_info()[1]
    if is_database_unavailable(exception):
        log_unavailable(request.path, exception)
        return database_unavailable_response(request.path)
    if is_api_path(request.path):
        return error_response_for_path(
            request.path, RawrError("INTERNAL_SERVER_ERROR", 500, "Internal server error")
        )
    return defaults.server_error(request)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        error = RawrError("BAD_REQUEST", 400, "Bad Request")
        if isinstance(exception, TooManyFieldsSent):
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            error = RawrError(
                "BAD_REQUEST", 400, f"Too many parameters (at most {limit})", {"limit": limit}
            )
        return error_response_for_path(request.path, error)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response_for_path(request.path, RawrError("FORBIDDEN", 403, "Forbidden"))
    return defaults.permission_denied(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request.path):
        return error_response_for_path(
            request.path, RawrError("FORBIDDEN", 403, f"CSRF verification failed: {reason}")
        )
    return django_csrf_failure(request, reason)
