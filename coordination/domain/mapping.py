"""Handoff ``mappingRefs``: which parts of the upstream output a target desk receives.

The original declares ``mappingRefs?: Record<string, string>`` and never applies it, so the
meaning is ours: each key is a TARGET input field name (taken literally, a dot is just a
character), each value a SOURCE path into the upstream desk's output, in the path syntax
of ``conditions``: ``$`` (the whole output), ``$.a.b`` or ``a.b``, ``items[0]`` or
``items.0``, ``$["odd key"]``, ``items.length``.

- No ``mappingRefs`` (absent, ``null`` or ``{}``): the output passes through unchanged.
- Otherwise the payload is a new object holding only the mapped fields, in ``mappingRefs``
  order; a path that finds nothing gives ``null`` (the target's input schema is where a
  missing value becomes an error, not here).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from coordination.domain.conditions import ConditionError, parse_path, resolve_path
from workflows.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, json_limit_problem

__all__ = ["MappingError", "MappingTooLarge", "apply_mapping", "check_mapping_syntax"]


class MappingError(ValueError):
    """A ``mappingRefs`` entry whose source path does not parse."""


class MappingTooLarge(MappingError):
    """The payload a mapping builds is over the stored-value limits (size or depth):
    many references to one large value would otherwise copy it many times."""


def _parsed(mapping_refs: Mapping[str, str]) -> list[tuple[str, tuple[str | int, ...]]]:
    parsed = []
    for target, source in mapping_refs.items():
        try:
            parsed.append((target, parse_path(source)))
        except ConditionError as exc:
            raise MappingError(f"mappingRefs[{target!r}]: {exc}") from exc
    return parsed


def apply_mapping(mapping_refs: Mapping[str, str] | None, upstream_output: Any) -> Any:
    """The payload a handoff delivers, built from the upstream desk's output.

    Mapped values are deep copies, so the payload never aliases the upstream output.
    Raises ``MappingError`` for a source path that does not parse.
    Raises ``MappingTooLarge`` before copying anything when the payload would be larger
    or deeper than a stored value may be (``workflows.limits``).
    """
    if not mapping_refs:
        return upstream_output
    shared = {
        target: resolve_path(upstream_output, segments)
        for target, segments in _parsed(mapping_refs)
    }
    # The walk stops at the limit, so checking many references to one big value is cheap.
    problem = json_limit_problem(
        shared, what="mapped payload", max_depth=MAX_JSON_DEPTH, max_bytes=MAX_JSON_BYTES
    )
    if problem is not None and problem.limit in ("size", "depth"):
        raise MappingTooLarge(str(problem))
    return copy.deepcopy(shared)


def check_mapping_syntax(mapping_refs: Mapping[str, str] | None) -> str | None:
    """The first bad source path's message, or ``None`` when every path parses."""
    if not mapping_refs:
        return None
    try:
        _parsed(mapping_refs)
    except MappingError as exc:
        return str(exc)
    return None
