"""Django error views: JSON under ``/rpc`` and ``/api``, Django's defaults elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

from rawr_site.contract.errors import RawrError
from rawr_site.middleware import is_api_path
from rawr_site.transports.wire import error_response_for_path


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response_for_path(request.path, RawrError("NOT_FOUND", 404, "Not Found"))
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
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
