"""Encoding for the two wire formats (see ``shared/ORPC_WIRE.md``).

RPC (``/rpc``): bodies are envelopes ``{"json": value, "meta": [...]}``; errors are
``{"json": <error object>}``. OpenAPI (``/api/*``): plain JSON; errors are the bare error
object. Both always answer ``application/json``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import uuid
from typing import Any

from django.http import HttpResponse

from rawr_site import strict_json
from rawr_site.contract.errors import RawrError

JSON_CONTENT_TYPE = "application/json"

# oRPC meta type codes
META_BIGINT, META_DATE, META_NAN, META_UNDEFINED, META_URL, META_REGEXP, META_SET, META_MAP = range(
    8
)


def json_response(payload: Any, status: int = 200) -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":"), default=_plain).encode()
    return HttpResponse(body, status=status, content_type=JSON_CONTENT_TYPE)


def _plain(value: Any) -> Any:
    """Plain-JSON fallback for values handlers may put in error ``data``."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


# -- RPC envelope -------------------------------------------------------------------------
def rpc_encode(value: Any) -> dict[str, Any]:
    """Serialize an output value into ``{"json", "meta"}``, recording Dates/Sets for revival.

    ``None`` output (void) is the empty envelope ``{}``.
    """
    if value is None:
        return {}
    meta: list[list[Any]] = []
    encoded = _encode(value, [], meta)
    out: dict[str, Any] = {"json": encoded}
    if meta:
        out["meta"] = meta
    return out


def _encode(value: Any, path: list[Any], meta: list[list[Any]]) -> Any:
    if isinstance(value, dict):
        return {key: _encode(item, [*path, key], meta) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item, [*path, index], meta) for index, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_encode(item, [*path, index], meta) for index, item in enumerate(value)]
        meta.append([META_SET, *path])
        return items
    if isinstance(value, dt.datetime):
        meta.append([META_DATE, *path])
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, float) and value != value:  # NaN
        meta.append([META_NAN, *path])
        return None
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.date | dt.time):
        return str(value)
    return value


def rpc_decode(envelope: Any) -> Any:
    """Input value of a request envelope; ``{}`` (no ``json`` key) means no input.

    Meta is applied where it changes the shape Python validation sees (Map -> dict,
    undefined array items -> None); Dates and BigInts stay strings and are parsed by the
    input schema, which accepts ISO dates and numeric strings.
    """
    if not isinstance(envelope, dict):
        raise RawrError("BAD_REQUEST", 400, MALFORMED)
    if "json" not in envelope:
        return None
    value = envelope["json"]
    meta = envelope.get("meta") or []
    if not isinstance(meta, list):
        raise RawrError("BAD_REQUEST", 400, MALFORMED)
    for entry in meta:
        if not isinstance(entry, list) or not entry or not isinstance(entry[0], int):
            raise RawrError("BAD_REQUEST", 400, MALFORMED)
        code, segments = entry[0], entry[1:]
        if code == META_MAP:
            value = _replace_at(value, segments, _pairs_to_dict)
    return value


def _pairs_to_dict(pairs: Any) -> Any:
    if isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 for p in pairs):
        return {str(k): v for k, v in pairs}
    return pairs


def _replace_at(root: Any, segments: list[Any], fn: Any) -> Any:
    if not segments:
        return fn(root)
    parent = root
    for seg in segments[:-1]:
        try:
            parent = parent[seg]
        except (KeyError, IndexError, TypeError):
            return root
    last = segments[-1]
    with contextlib.suppress(KeyError, IndexError, TypeError):
        parent[last] = fn(parent[last])
    return root


MALFORMED = (
    "Malformed request. Ensure the request body is properly formatted and the "
    "'Content-Type' header is set correctly."
)


def loads_input(raw: str | bytes) -> Any:
    """A client's JSON input, strictly parsed (see ``rawr_site.strict_json``); 400 if not.

    Plain syntax errors keep oRPC's wording; NaN/Infinity, out-of-range numbers and
    over-deep nesting say what is wrong, so nothing is stored as ``null`` or answered 500.
    """
    try:
        return strict_json.loads(raw)
    except strict_json.StrictJSONError as exc:
        raise RawrError("BAD_REQUEST", 400, MALFORMED if exc.syntax else str(exc)) from exc


def rpc_error_response(error: RawrError, *, defined: bool = False) -> HttpResponse:
    # Encoded like outputs, so Dates in ``data`` get meta and revive in the client.
    return json_response(rpc_encode(error.body(defined=defined)), status=error.status)


def rpc_success_response(value: Any) -> HttpResponse:
    return json_response(rpc_encode(value), status=200)


def api_error_response(error: RawrError, *, defined: bool = False) -> HttpResponse:
    return json_response(error.body(defined=defined), status=error.status)


def error_response_for_path(path: str, error: RawrError) -> HttpResponse:
    """The error shape a client of ``path`` expects (RPC envelope under ``/rpc/``)."""
    if path.startswith("/rpc/") or path == "/rpc":
        return rpc_error_response(error)
    return api_error_response(error)
