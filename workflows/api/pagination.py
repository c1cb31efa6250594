"""Keyset cursor pagination: constant-time pages at any depth, no ``COUNT(*)``, no offsets.

DRF's ``CursorPagination`` keeps only the first ordering field in the cursor and steps
over ties with an offset, which drifts when the direction changes and degrades with many
equal timestamps. Here the cursor holds the whole ordering key (e.g. ``created_at`` plus
the id), whose last field is unique, so every page is one ``WHERE key < cursor``
range scan and pages never overlap or skip, whichever way a client walks.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

from django.core.exceptions import ValidationError
from django.db.models import Field, IntegerField, Model, Q, QuerySet
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from rawr_site import strict_json
from rawr_site.contract.errors import RawrError

_INVALID_CURSOR = "Invalid pagination cursor"


def _invalid_cursor() -> RawrError:
    return RawrError("BAD_REQUEST", 400, _INVALID_CURSOR)


def _reverse(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)


def _beyond(ordering: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in ``ordering`` (a row-value comparison).

    The leading field's inclusive bound is repeated on its own so Postgres can turn it into
    an index range condition instead of filtering every row before the cursor.
    """
    first = ordering[0].lstrip("-")
    first_op = "lte" if ordering[0].startswith("-") else "gte"
    after = Q()
    equal: dict[str, Any] = {}
    for name, value in zip(ordering, values, strict=True):
        field = name.lstrip("-")
        op = "lt" if name.startswith("-") else "gt"
        after |= Q(**equal, **{f"{field}__{op}": value})
        equal[field] = value
    return Q(**{f"{first}__{first_op}": values[0]}) & after


class KeysetCursorPagination(CursorPagination):
    """``ordering`` must end with a unique field; ``limit`` sets the page size."""

    page_size_query_param = "limit"
    cursor_query_description = (
        "Opaque cursor: the `cursor` parameter of a previous page's `next` or `previous` link."
    )
    page_size_query_description = "Page size."

    def get_page_size(self, request: Request) -> int:
        """``limit`` is an integer in ``1..max_page_size`` or a 400 -- never silently ignored.

        DRF falls back to the default page size for ``limit=null``, ``limit=0`` or
        ``limit=abc``; a client that asked for something else should hear about it.
        """
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        raw = values[-1]
        if len(values) != 1 or not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
            raise RawrError(
                "BAD_REQUEST", 400, f"limit must be an integer from 1 to {self.max_page_size}"
            )
        size = int(raw)
        if not 1 <= size <= self.max_page_size:
            raise RawrError(
                "BAD_REQUEST", 400, f"limit must be an integer from 1 to {self.max_page_size}"
            )
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": self.cursor_query_description,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9+/]+={0,2}$"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Page size, 1 to {self.max_page_size} (default {self.page_size}); "
                    "anything else is a 400."
                ),
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                },
            },
        ]

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Model]:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        reverse = bool(self.cursor and self.cursor.reverse)
        ordering = _reverse(self.ordering) if reverse else tuple(self.ordering)
        rows = queryset.order_by(*ordering)
        position = self.cursor.position if self.cursor else None
        if position is not None:
            rows = rows.filter(_beyond(ordering, self._key_values(queryset, position)))
        results = list(rows[: self.page_size + 1])
        page = results[: self.page_size]
        more = len(results) > self.page_size
        if reverse:
            page.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, position is not None
        self.page = page
        return page

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        position = self._position(self.page[-1]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=position))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        position = self._position(self.page[0]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=position))

    def decode_cursor(self, request: Request) -> Cursor | None:
        """Only a cursor this class issued: ``p=<key>`` and optionally ``r=1``, base64.

        DRF's decoder skips characters that are not base64 and ignores unknown fields, so a
        garbled cursor silently meant "first page"; here any tampering is a 400.
        """
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = base64.b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse_qs(text, keep_blank_values=True, strict_parsing=True)
        except (ValueError, binascii.Error) as exc:  # UnicodeError is a ValueError
            raise _invalid_cursor() from exc
        if (
            set(tokens) - {"o", "r", "p"}
            or "p" not in tokens
            or any(len(values) != 1 for values in tokens.values())
            or tokens.get("o", ["0"])[0] != "0"
            or tokens.get("r", ["0"])[0] not in ("0", "1")
        ):
            raise _invalid_cursor()
        return Cursor(offset=0, reverse=tokens.get("r", ["0"])[0] == "1", position=tokens["p"][0])

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    # -- the key in the cursor --------------------------------------------------------------
    def _position(self, row: Model) -> str:
        values = [getattr(row, name.lstrip("-")) for name in self.ordering]
        return json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values])

    def _key_fields(self, queryset: QuerySet) -> list[Field]:
        """The model field that parses each ordering value held in the cursor."""
        meta = queryset.model._meta
        return [meta.get_field(name.lstrip("-")) for name in self.ordering]

    def _key_values(self, queryset: QuerySet, position: str) -> list[Any]:
        """The cursor's key, typed exactly as ``_position`` wrote it, or a 400.

        Integers stay JSON integers, everything else is a string (ISO datetimes with an
        offset); nulls, other types, NUL characters and datetimes out of range are refused
        here instead of failing in the query as a 500.
        """
        try:
            raw = strict_json.loads(position)
        except strict_json.StrictJSONError as exc:
            raise _invalid_cursor() from exc
        fields = self._key_fields(queryset)
        if not isinstance(raw, list) or len(raw) != len(fields):
            raise _invalid_cursor()
        return [_key_value(field, value) for field, value in zip(fields, raw, strict=True)]


def _key_value(field: Field, value: Any) -> Any:
    if isinstance(field, IntegerField):
        if type(value) is not int:
            raise _invalid_cursor()
    elif not isinstance(value, str) or "\x00" in value:
        raise _invalid_cursor()
    try:
        parsed = field.to_python(value)
        if isinstance(parsed, dt.datetime):
            if parsed.tzinfo is None:
                raise ValueError(value)
            parsed = parsed.astimezone(dt.UTC)
    except (ValueError, TypeError, OverflowError, ValidationError) as exc:
        raise _invalid_cursor() from exc
    if parsed is None:
        raise _invalid_cursor()
    return parsed


class RunCursorPagination(KeysetCursorPagination):
    """Newest first; the id breaks ties between runs created in the same microsecond."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200


class StepCursorPagination(KeysetCursorPagination):
    ordering = ("position",)
    page_size = 100
    max_page_size = 1000


class TimelineCursorPagination(KeysetCursorPagination):
    ordering = ("seq",)
    page_size = 100
    max_page_size = 1000
