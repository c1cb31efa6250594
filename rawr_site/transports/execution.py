"""The request -> procedure -> response path shared by both HTTP transports.

Each transport only says how input is read and how output/errors are written; auth,
context, validation and error mapping happen here once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from rawr_site.contract.context import BoundaryContext
from rawr_site.contract.errors import RawrError
from rawr_site.contract.procedure import Procedure
from rawr_site.transports import wire
from rawr_site.transports.auth import Family, authenticate
from rawr_site.unavailable import (
    is_database_unavailable,
    log_unavailable,
    unavailable_error,
    with_retry_after,
)

logger = logging.getLogger("rawr.transports")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def read_json_body(request: HttpRequest) -> Any:
    """Decoded JSON body, or ``None`` for an empty body. Raises 400/413/415 ``RawrError``."""
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise RawrError("PAYLOAD_TOO_LARGE", 413, "Request body is too large") from exc
    if not raw.strip():
        return None
    content_type = request.content_type or ""
    if content_type.startswith("multipart/") or content_type == "application/x-www-form-urlencoded":
        raise RawrError("UNSUPPORTED_MEDIA_TYPE", 415, "Send the input as application/json")
    return wire.loads_input(raw)


def run_procedure(
    request: HttpRequest,
    proc: Procedure,
    *,
    family: Family,
    read_input: Callable[[HttpRequest], Any],
    write_output: Callable[[Procedure, Any], HttpResponse],
    write_error: Callable[[RawrError, bool], HttpResponse],
) -> HttpResponse:
    try:
        ctx: BoundaryContext = authenticate(
            request,
            family=family,
            capability=proc.capability,
            csrf_required=request.method not in SAFE_METHODS,
        )
        raw_input = read_input(request)
        # JSON bodies are parsed strictly (``true`` is not ``1``); query strings are text.
        output = proc.call(ctx, raw_input, strict=request.method not in SAFE_METHODS)
        return write_output(proc, output)
    except RawrError as error:
        return write_error(error, proc.is_defined(error))
    except Exception as exc:
        if is_database_unavailable(exc):
            log_unavailable(request.path, exc)
            return with_retry_after(write_error(unavailable_error(), False))
        logger.exception("unhandled error in %s", proc.key)
        return write_error(RawrError("INTERNAL_SERVER_ERROR", 500, "Internal server error"), False)
