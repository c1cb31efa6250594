"""Limits on the JSON the runtime stores and shows: how deep, how big, what is storable.

Every value a run stores (its input, each step's output, each timeline event's payload,
each desk memory value) must be JSON that Postgres ``jsonb`` and Python's ``json`` can
both hold: at most ``MAX_JSON_DEPTH`` levels of nesting and ``MAX_JSON_BYTES`` of compact
JSON text, no NUL character (``jsonb`` refuses ``\\u0000``), no ``NaN``/``Infinity``.
Python's own decoder gives up (``RecursionError``) somewhere under 1,000 levels, and a
view that cannot decode a stored value answers 500; these limits keep every stored value
far from that.

Writers call ``check_json`` (or ``check_step_output`` inside a run) and turn
``JsonLimitExceeded`` into a coded 400 at the door or a coded step failure. Readers that
show stored values use ``preview`` (a truncated, depth-limited copy) and, for values
that were stored before the limits existed, ``SafeJSONDecoder`` / ``loads_safely``
(a value too deep to decode becomes a marker object instead of an exception).

Every walk here is iterative: no limit check can itself hit the recursion limit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from django.db.models import F, JSONField
from django.db.models.functions import Cast

from workflows.errors import NonRetriableError

__all__ = [
    "DISPLAY_MAX_CHARS",
    "DISPLAY_MAX_DEPTH",
    "DISPLAY_MAX_ITEMS",
    "DISPLAY_MAX_STRING",
    "MAX_EVENT_PAYLOAD_BYTES",
    "MAX_EVENT_PAYLOAD_DEPTH",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "JsonLimitExceeded",
    "SafeJSONDecoder",
    "StepOutputLimitExceeded",
    "adopt_safe_json",
    "api_view",
    "check_event_payload",
    "check_json",
    "check_step_output",
    "first_safely",
    "json_limit_problem",
    "load_safely",
    "loads_safely",
    "preview",
    "safe_json",
    "text_depth",
    "with_safe_json",
]

#: Nesting levels of a stored value (``{"a": 1}`` is depth 1, ``1`` is depth 0).
MAX_JSON_DEPTH = 64
#: Compact JSON text of a stored value, in characters (≈ bytes for ASCII).
MAX_JSON_BYTES = 1_048_576
#: Timeline payloads wrap a value (``{"deskId", "output": value}``): a little more room.
MAX_EVENT_PAYLOAD_DEPTH = MAX_JSON_DEPTH + 8
MAX_EVENT_PAYLOAD_BYTES = MAX_JSON_BYTES + 65_536

#: What a page or API shows of one stored value.
DISPLAY_MAX_DEPTH = 16
DISPLAY_MAX_STRING = 2_000
DISPLAY_MAX_ITEMS = 200
DISPLAY_MAX_CHARS = 65_536

#: A stored text nested deeper than this is not decoded at all (Python's decoder would
#: raise ``RecursionError`` a few hundred levels later, depending on the caller's stack;
#: pretty-printing it, a few hundred earlier).
DECODE_MAX_DEPTH = 100
#: The key of the marker object that stands for a value too deep to decode.
TRUNCATED_KEY = "$truncated"


class JsonLimitExceeded(ValueError):
    """A value over a limit: ``limit`` is ``depth``, ``size``, ``nul`` or ``number``."""

    CODES = {
        "depth": "JSON_TOO_DEEP",
        "size": "JSON_TOO_LARGE",
        "nul": "JSON_NOT_STORABLE",
        "number": "JSON_NOT_STORABLE",
        "type": "JSON_NOT_STORABLE",
    }

    def __init__(self, what: str, limit: str, maximum: int | None, message: str) -> None:
        self.what, self.limit, self.max = what, limit, maximum
        super().__init__(f"{what}: {message}")

    @property
    def code(self) -> str:
        return self.CODES[self.limit]

    def data(self) -> dict[str, Any]:
        """The ``data`` of a coded error: which value, which limit, its maximum."""
        return {"value": self.what, "limit": self.limit, "max": self.max}


def _scalar_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    return len(repr(value))


def json_limit_problem(
    value: Any,
    *,
    what: str = "value",
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
) -> JsonLimitExceeded | None:
    """Why ``value`` may not be stored, or ``None``. Stops at the first problem, so the
    cost is bounded by the limits, not by the value."""
    size = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth + 1 > max_depth:
                return JsonLimitExceeded(
                    what, "depth", max_depth, f"nested deeper than {max_depth} levels"
                )
            size += 2 + max(len(item) - 1, 0)
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if isinstance(key, str):
                        if "\x00" in key:
                            return JsonLimitExceeded(what, "nul", None, "a key contains NUL")
                        size += len(key) + 3
                    else:
                        size += len(str(key)) + 3
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return JsonLimitExceeded(what, "nul", None, "a string contains NUL (\\u0000)")
            size += len(item) + 2
        elif isinstance(item, float) and not math.isfinite(item):
            return JsonLimitExceeded(what, "number", None, f"{item!r} is not a JSON number")
        elif item is None or isinstance(item, bool | int | float):
            size += _scalar_size(item)
        else:
            return JsonLimitExceeded(what, "type", None, f"{type(item).__name__} is not JSON")
        if size > max_bytes:
            return JsonLimitExceeded(what, "size", max_bytes, f"larger than {max_bytes} bytes")
    return None


def check_json(
    value: Any,
    *,
    what: str = "value",
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
) -> None:
    """Raise ``JsonLimitExceeded`` unless ``value`` is storable within the limits."""
    problem = json_limit_problem(value, what=what, max_depth=max_depth, max_bytes=max_bytes)
    if problem is not None:
        raise problem


def check_event_payload(payload: Any, *, what: str = "event payload") -> None:
    """``check_json`` with the (slightly larger) limits of a timeline event payload."""
    check_json(
        payload, what=what, max_depth=MAX_EVENT_PAYLOAD_DEPTH, max_bytes=MAX_EVENT_PAYLOAD_BYTES
    )


class StepOutputLimitExceeded(NonRetriableError):
    """A step returned a value the run may not store; the step (and the run) fail."""

    code = "STEP_OUTPUT_TOO_LARGE"

    def __init__(self, step_id: str, problem: JsonLimitExceeded) -> None:
        codes = {"depth": "STEP_OUTPUT_TOO_DEEP", "size": "STEP_OUTPUT_TOO_LARGE"}
        super().__init__(
            f"step {step_id!r} output: {problem}",
            code=codes.get(problem.limit, "STEP_OUTPUT_NOT_STORABLE"),
        )
        self.problem = problem


def check_step_output(step_id: str, output: Any) -> None:
    """For the engine: call on a step's result before it is stored (``step.run`` and
    ``step.run_with`` right after the step function returns, and on the function's
    return value); raises ``StepOutputLimitExceeded`` (non-retriable, coded)."""
    problem = json_limit_problem(output, what=f"step {step_id} output")
    if problem is not None:
        raise StepOutputLimitExceeded(step_id, problem)


# -- reading what is already stored ------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]+|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def text_depth(text: str) -> int:
    """The nesting depth of a JSON text, without decoding it (strings are skipped)."""
    brackets = _BRACKETS.findall(_STRINGS.sub("", text))
    if not brackets:
        return 0
    return max(accumulate(_DELTA[b] for b in brackets))


def _too_deep_marker(text: str, depth: int) -> dict[str, Any]:
    return {
        TRUNCATED_KEY: f"stored value nested {depth} levels deep: not decoded",
        "depth": depth,
        "chars": len(text),
        "preview": text[:DISPLAY_MAX_STRING],
    }


def _may_be_too_deep(text: str) -> bool:
    """Cheap: fewer opening brackets than the limit cannot nest deeper than it."""
    return text.count("{") + text.count("[") > DECODE_MAX_DEPTH


def loads_safely(text: str) -> Any:
    """``json.loads`` that never raises ``RecursionError``: a text nested deeper than
    ``DECODE_MAX_DEPTH`` becomes a marker object (``{"$truncated": ..., "preview": ...}``)."""
    if _may_be_too_deep(text):
        depth = text_depth(text)
        if depth > DECODE_MAX_DEPTH:
            return _too_deep_marker(text, depth)
    return json.loads(text)


class SafeJSONDecoder(json.JSONDecoder):
    """A ``JSONField(decoder=...)`` that reads any stored text: too deep → a marker.

    Meant for every ``JSONField`` whose value a page shows (run input/output/error, step
    output/error, timeline payloads, approval context/payload, desk memory).
    """

    def decode(self, s: str, _w: Any = None) -> Any:  # type: ignore[override]
        if _may_be_too_deep(s):
            depth = text_depth(s)
            if depth > DECODE_MAX_DEPTH:
                return _too_deep_marker(s, depth)
        return super().decode(s)


def safe_json(field_name: str) -> Cast:
    """An annotation that reads a ``jsonb`` column through ``SafeJSONDecoder``:
    ``qs.defer("output").annotate(output_safe=safe_json("output"))`` reads a row whose
    stored value is too deep for the model field's own decoder."""
    return Cast(F(field_name), output_field=JSONField(decoder=SafeJSONDecoder))


#: The JSON columns a page or API shows, per model (``load_safely`` reads them).
RUN_JSON = ("input", "output", "error")
STEP_JSON = ("output", "error")
EVENT_JSON = ("payload",)
APPROVAL_JSON = ("context", "payload")

_SAFE = "_safe_json"


def with_safe_json(queryset: Any, *fields: str) -> Any:
    """``queryset`` with ``fields`` deferred and annotated as read by ``SafeJSONDecoder``;
    pass the rows it yields through ``adopt_safe_json`` (for querysets a paginator slices)."""
    return queryset.defer(*fields).annotate(
        **{f"{name}{_SAFE}": safe_json(name) for name in fields}
    )


def adopt_safe_json(rows: Any) -> list[Any]:
    """Rows of a ``with_safe_json`` queryset, each field set from its safe reading."""
    rows = list(rows)
    for row in rows:
        for attribute, value in list(vars(row).items()):
            if attribute.endswith(_SAFE):
                setattr(row, attribute[: -len(_SAFE)], value)
    return rows


def load_safely(queryset: Any, *fields: str, limit: int | None = None) -> list[Any]:
    """The rows of ``queryset`` (at most ``limit``) with the ``jsonb`` columns ``fields``
    read through ``SafeJSONDecoder`` instead of the model field's decoder, so a stored
    value too deep for Python (written before the limits existed, or by hand) turns into
    a marker rather than a ``RecursionError`` in the middle of a page.

    Until the models' ``JSONField``s use ``SafeJSONDecoder`` themselves, every view that
    shows stored values reads them through this."""
    annotated = with_safe_json(queryset, *fields)
    return adopt_safe_json(annotated if limit is None else annotated[:limit])


def first_safely(queryset: Any, *fields: str) -> Any:
    """``queryset.first()`` through ``load_safely`` (``None`` when there is no row)."""
    rows = load_safely(queryset, *fields, limit=1)
    return rows[0] if rows else None


# -- showing -----------------------------------------------------------------------------

_MORE = "…"


def preview(
    value: Any,
    *,
    max_depth: int = DISPLAY_MAX_DEPTH,
    max_string: int = DISPLAY_MAX_STRING,
    max_items: int = DISPLAY_MAX_ITEMS,
    max_chars: int = DISPLAY_MAX_CHARS,
) -> Any:
    """A copy of ``value`` fit to show: strings cut at ``max_string`` characters, lists
    and objects at ``max_items`` entries, nesting below ``max_depth`` replaced by a short
    marker, and about ``max_chars`` characters in all (what is cut says how much).
    Never recursive, never raises for JSON-like input."""
    budget = [max_chars]

    def leaf(item: Any) -> Any:
        if isinstance(item, str):
            keep = max(0, min(max_string, budget[0]))
            if len(item) > keep:
                item = f"{item[:keep]}{_MORE} (+{len(item) - keep} chars)"
            budget[0] -= len(item) + 2
            return item.replace("\x00", "\\u0000")
        if isinstance(item, float) and not math.isfinite(item):
            return repr(item)
        if item is None or isinstance(item, bool | int | float):
            budget[0] -= 6
            return item
        return repr(item)[:max_string]

    def shell(item: Any, depth: int) -> tuple[Any, bool]:
        """(the copy's container or leaf value, whether to descend into it)."""
        if isinstance(item, Mapping | list | tuple):
            if depth >= max_depth or budget[0] <= 0:
                kind = "object" if isinstance(item, Mapping) else "list"
                return f"{_MORE} ({kind} of {len(item)}, not shown)", False
            return ({} if isinstance(item, Mapping) else []), True
        return leaf(item), False

    root, descend = shell(value, 0)
    if not descend:
        return root

    stack: list[tuple[Any, Any, int]] = [(value, root, 0)]
    while stack:
        source, target, depth = stack.pop()
        entries = list(source.items()) if isinstance(source, Mapping) else list(enumerate(source))
        for index, (key, child) in enumerate(entries):
            if index >= max_items or budget[0] <= 0:
                rest = len(entries) - index
                if isinstance(target, dict):
                    target[_MORE] = f"{rest} more not shown"
                else:
                    target.append(f"{_MORE} {rest} more not shown")
                break
            copied, deeper = shell(child, depth + 1)
            if isinstance(target, dict):
                name = str(key).replace("\x00", "\\u0000")[:max_string]
                target[name] = copied
                budget[0] -= len(name) + 3
            else:
                target.append(copied)
            if deeper:
                stack.append((child, copied, depth + 1))
    return root


def api_view(value: Any) -> Any:
    """A stored value as an API returns it: unchanged when it is within the stored-value
    limits; otherwise cut to them (depth, string length, items, total size), so a value
    stored before the limits cannot make a response huge or unrenderable."""
    if (
        json_limit_problem(value, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_EVENT_PAYLOAD_BYTES)
        is None
    ):
        return value
    return preview(
        value,
        max_depth=MAX_JSON_DEPTH,
        max_string=DISPLAY_MAX_CHARS,
        max_items=10_000,
        max_chars=MAX_JSON_BYTES,
    )
