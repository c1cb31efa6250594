"""Host middleware: body limit (413), correlation ids, JSON-only errors on API prefixes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from rawr_site.contract.errors import RawrError
from rawr_site.log_context import correlation_id_of, reset_current, set_current
from rawr_site.transports.wire import error_response_for_path
from rawr_site.unavailable import (
    is_database_unavailable,
    log_unavailable,
    unavailable_error,
    unavailable_page,
    with_retry_after,
)

logger = logging.getLogger("rawr.http")

Handler = Callable[[HttpRequest], HttpResponse]


def is_api_path(path: str) -> bool:
    return path == "/rpc" or path.startswith((settings.RAWR_RPC_PREFIX, settings.RAWR_API_PREFIX))


class RequestBodyLimitMiddleware:
    """Refuse bodies over ``RAWR_MAX_BODY_BYTES`` with 413 before anything reads them.

    Chunked bodies without Content-Length are caught later, when reading raises
    ``RequestDataTooBig`` (same limit, see settings).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH")
        try:
            too_big = (
                length is not None and length != "" and int(length) > settings.RAWR_MAX_BODY_BYTES
            )
        except ValueError:
            return error_response_for_path(
                request.path, RawrError("BAD_REQUEST", 400, "Invalid Content-Length header")
            )
        if too_big:
            error = RawrError(
                "PAYLOAD_TOO_LARGE",
                413,
                f"Request body exceeds {settings.RAWR_MAX_BODY_BYTES} bytes",
                {"limit": settings.RAWR_MAX_BODY_BYTES},
            )
            return error_response_for_path(request.path, error)
        return self.get_response(request)


#: Form encodings whose bodies are checked. No console or API form takes a binary file
#: upload (a file could hold NUL bytes legitimately): revisit this when one does.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NulCharacterMiddleware:
    """Refuse a NUL character in the path, the query string or a form body with 400.

    No text column of Postgres can hold one, so such a value would reach the database only
    to fail there as a 500 (a run id in an admin URL, a search term, an approval id in a
    form). One check here covers every view; JSON bodies are checked by their parsers.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = self._nul_in(request)
        if where is None:
            return self.get_response(request)
        message = f"The request's {where} contains a NUL character"
        if is_api_path(request.path):
            return error_response_for_path(request.path, RawrError("BAD_REQUEST", 400, message))
        return HttpResponseBadRequest(f"{message}.", content_type="text/plain; charset=utf-8")

    @staticmethod
    def _nul_in(request: HttpRequest) -> str | None:
        if "\x00" in request.path:
            return "path"
        if any("\x00" in k or "\x00" in v for k, vs in request.GET.lists() for v in [k, *vs]):
            return "query string"
        if request.content_type in _FORM_TYPES:
            # Read the raw body (Django keeps it), not ``request.POST``: a view may still
            # read ``request.body`` after this, which parsing the form would forbid.
            body = request.body
            if b"%00" in body or b"\x00" in body:
                return "form data"
        return None


class CorrelationIdMiddleware:
    """One correlation id per request (``X-Request-ID`` / ``traceparent`` / new), echoed back."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cid = correlation_id_of(request)
        token = set_current(cid)
        try:
            response = self.get_response(request)
        finally:
            reset_current(token)
        response["X-Request-ID"] = cid
        return response


class ApiErrorShapeMiddleware:
    """Under ``/rpc`` and ``/api`` every error is the JSON error object, whoever produced it.

    Django's own 404/405/500, a CSRF 403 or a stray DRF ``{"detail": ...}`` are rewritten
    here, so clients never see HTML or an unknown shape. A view that fails because the
    database refused a connection is a 503 with ``Retry-After`` on every path, the console's
    included (``rawr_site.unavailable``).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not is_api_path(request.path):
            return response
        if _is_error_object(response, rpc=request.path.startswith("/rpc")):
            return response
        message = None
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            message = f"Method {request.method} is not supported here" + (
                f" (allowed: {allowed})" if allowed else ""
            )
        error = RawrError.from_status(response.status_code, message)
        replaced = error_response_for_path(request.path, error)
        if response.has_header("Allow"):
            replaced["Allow"] = response["Allow"]
        return replaced

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            log_unavailable(request.path, exception)
            return database_unavailable_response(request.path)
        if not is_api_path(request.path):
            return None
        if isinstance(exception, RawrError):
            return error_response_for_path(request.path, exception)
        logger.exception("unhandled error on %s", request.path)
        return error_response_for_path(
            request.path, RawrError("INTERNAL_SERVER_ERROR", 500, "Internal server error")
        )


def database_unavailable_response(path: str) -> HttpResponse:
    """503 + ``Retry-After``: the path's JSON error shape under the API, a plain page elsewhere."""
    if is_api_path(path):
        return with_retry_after(error_response_for_path(path, unavailable_error()))
    return unavailable_page()


_ERROR_KEYS = {"defined", "code", "status", "message", "data"}


def _is_error_object(response: HttpResponse, *, rpc: bool) -> bool:
    if "json" not in response.get("Content-Type", "") or getattr(response, "streaming", False):
        return False
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return False
    if rpc:
        if not isinstance(body, dict) or set(body) - {"json", "meta"}:
            return False
        body = body.get("json")
    return (
        isinstance(body, dict)
        and set(body) <= _ERROR_KEYS
        and {"defined", "code", "status", "message"} <= set(body)
    )
