"""Query-string input for published GET routes.

Two encodings arrive for the same input: the OpenAPI "form, explode" style that SDKs
generated from our schema send (``?tags=a&tags=b``) and OpenAPILink's bracket notation
(``?tags[0]=a&tags[1]=b&filter[k]=v``). Both become the same nested dict; scalar strings
are then coerced to the declared types by the input schema (pydantic's lax mode).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.http import QueryDict
from pydantic import BaseModel

from rawr_site.contract.errors import bad_request

_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """``filter[a][0]`` -> ``["filter", "a", "0"]``; a plain key is one segment."""
    head, sep, rest = key.partition("[")
    if not sep:
        return [key]
    segments = [head]
    tail = "[" + rest
    consumed = 0
    for match in _SEGMENT_RE.finditer(tail):
        if match.start() != consumed:
            return [key]  # not well-formed bracket notation: keep the key as-is
        segments.append(match.group(1))
        consumed = match.end()
    if consumed != len(tail):
        return [key]
    return segments


def parse_query(query: QueryDict, model: type[BaseModel] | None) -> dict[str, Any] | None:
    if not query:
        return None
    array_fields = _array_fields(model)
    root: dict[str, Any] = {}
    for key in query:
        values = query.getlist(key)
        segments = split_key(key)
        if len(segments) == 1:
            name = segments[0]
            if name in array_fields or len(values) > 1:
                _merge(root, [name], list(values))
            else:
                _merge(root, [name], values[-1])
        else:
            # bracket notation: one value per key; "tags[]" appends
            for value in values:
                _merge(root, segments, value)
    return _listify(root)


def _merge(root: dict[str, Any], segments: list[str], value: Any) -> None:
    node: Any = root
    for seg in segments[:-1]:
        child = node.get(seg) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = {}
            node[seg] = child
        node = child
    last = segments[-1]
    if last == "":
        # "tags[]=a": append to the next free index
        last = str(len(node))
    if not isinstance(node, dict):
        raise bad_request(
            "Conflicting query parameters", [{"message": "conflict", "path": segments}]
        )
    existing = node.get(last)
    if isinstance(existing, list) and isinstance(value, list):
        existing.extend(value)
    else:
        node[last] = value


def _listify(node: Any) -> Any:
    """Dicts whose keys are all array indexes become lists, in index order."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _array_fields(model: type[BaseModel] | None) -> frozenset[str]:
    return frozenset() if model is None else _array_fields_of(model)


@functools.cache
def _array_fields_of(model: type[BaseModel]) -> frozenset[str]:
    props = model.model_json_schema(by_alias=True).get("properties", {})
    names: set[str] = set()
    for attr, info in model.model_fields.items():
        wire = info.alias or attr
        if is_array_schema(props.get(wire, {})):
            names.update({attr, wire})
    return frozenset(names)


def is_array_schema(schema: dict[str, Any]) -> bool:
    """A JSON Schema that is (or may be, via ``anyOf``) an array."""
    if schema.get("type") == "array":
        return True
    return any(is_array_schema(option) for option in schema.get("anyOf", []))
