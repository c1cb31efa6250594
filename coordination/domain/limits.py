"""Documented limits of a workflow document and a run input (README, "Limits").

Checked before anything else looks at a document (``saveWorkflow``, ``validateWorkflow``,
the console's canvas and import), so the work any request can cause is bounded by these
numbers, not by what the caller sends. A document over a limit is refused with a coded
400 ``WORKFLOW_LIMIT_EXCEEDED`` whose ``data`` says which limit (``data.limit``), its
maximum (``data.max``), what was found (``data.actual``) and where (``deskId`` /
``handoffId``). Pure: no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coordination.domain.conditions import _MAX_DEPTH as _CONDITION_PARSER_DEPTH
from coordination.domain.conditions import MAX_CONDITION_LENGTH, check_condition_syntax
from workflows.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, json_limit_problem

__all__ = [
    "LIMITS",
    "WORKFLOW_LIMIT_EXCEEDED_CODE",
    "document_limit_problem",
    "run_input_limit_problem",
]

WORKFLOW_LIMIT_EXCEEDED_CODE = "WORKFLOW_LIMIT_EXCEEDED"

MAX_DESKS = 2_000
MAX_HANDOFFS = 4_000
#: Nesting of one ``inputSchema`` / ``outputSchema`` (``{"type": "string"}`` is 1).
MAX_SCHEMA_DEPTH = 32
#: Compact JSON size of one schema.
MAX_SCHEMA_BYTES = 65_536
#: The whole document: size (compact JSON) and nesting (a schema sits 3 levels down).
MAX_DOCUMENT_BYTES = 1_048_576
MAX_DOCUMENT_DEPTH = MAX_SCHEMA_DEPTH + 3
MAX_CONDITION_NESTING = _CONDITION_PARSER_DEPTH
MAX_MAPPING_REFS = 256
MAX_MAPPING_PATH_LENGTH = 1_000
#: A run's ``input`` (``queueRun``, the console's run form).
MAX_RUN_INPUT_BYTES = MAX_JSON_BYTES
MAX_RUN_INPUT_DEPTH = MAX_JSON_DEPTH

#: Every limit by its ``data.limit`` name (published in the README).
LIMITS: dict[str, int] = {
    "documentBytes": MAX_DOCUMENT_BYTES,
    "documentDepth": MAX_DOCUMENT_DEPTH,
    "desks": MAX_DESKS,
    "handoffs": MAX_HANDOFFS,
    "schemaDepth": MAX_SCHEMA_DEPTH,
    "schemaBytes": MAX_SCHEMA_BYTES,
    "conditionLength": MAX_CONDITION_LENGTH,
    "conditionNesting": MAX_CONDITION_NESTING,
    "mappingRefs": MAX_MAPPING_REFS,
    "mappingPathLength": MAX_MAPPING_PATH_LENGTH,
    "runInputBytes": MAX_RUN_INPUT_BYTES,
    "runInputDepth": MAX_RUN_INPUT_DEPTH,
}

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|' + r"'(?:[^'\\]|\\.)*'", re.DOTALL)


def _problem(limit: str, actual: Any, message: str, **where: str) -> dict[str, Any]:
    data: dict[str, Any] = {"limit": limit, "max": LIMITS[limit], **where}
    if actual is not None:
        data["actual"] = actual
    return {"message": message, "data": data}


def _nesting_upper_bound(condition: str) -> int:
    """An upper bound of the condition parser's nesting (``(``, ``[`` and ``!`` chains),
    found in one pass; only a condition over the limit by this bound is parsed."""
    text = _QUOTED.sub('""', condition)
    depth = deepest = bangs = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            bangs = 0
        elif char == "!":
            bangs += 1
        elif not char.isspace() and char != "=":
            bangs = 0
        deepest = max(deepest, depth + bangs)
    return deepest


def _condition_too_nested(condition: str) -> bool:
    if _nesting_upper_bound(condition) <= MAX_CONDITION_NESTING:
        return False
    error = check_condition_syntax(condition)
    return error is not None and "nested too deeply" in error


def _json_problem(value: Any, limit_depth: str, limit_bytes: str, what: str, **where: str):
    found = json_limit_problem(
        value, what=what, max_depth=LIMITS[limit_depth], max_bytes=LIMITS[limit_bytes]
    )
    if found is None:
        return None
    if found.limit == "depth":
        return _problem(limit_depth, None, str(found), **where)
    if found.limit == "size":
        return _problem(limit_bytes, None, str(found), **where)
    return None  # NUL / non-finite numbers: the document's shape (or the door) refuses them


def document_limit_problem(document: Any) -> dict[str, Any] | None:
    """The first limit ``document`` exceeds (``{"message", "data"}``), or ``None``.

    Looks only at the parts that have the expected JSON types: a malformed document is
    the shape check's to report, after this one.
    """
    # Size first (the walk is iterative and stops at the limit); the document's depth is
    # checked last, after each schema's, so a deep schema is reported as such.
    found = json_limit_problem(
        document, what="workflow document", max_depth=1_000_000, max_bytes=MAX_DOCUMENT_BYTES
    )
    if found is not None and found.limit == "size":
        return _problem("documentBytes", None, str(found))
    if not isinstance(document, Mapping):
        return _json_problem(document, "documentDepth", "documentBytes", "workflow document")
    desks = document.get("desks")
    handoffs = document.get("handoffs")
    if isinstance(desks, list) and len(desks) > MAX_DESKS:
        return _problem("desks", len(desks), f"A workflow has at most {MAX_DESKS} desks")
    if isinstance(handoffs, list) and len(handoffs) > MAX_HANDOFFS:
        return _problem(
            "handoffs", len(handoffs), f"A workflow has at most {MAX_HANDOFFS} handoffs"
        )
    for desk in desks if isinstance(desks, list) else []:
        if not isinstance(desk, Mapping):
            continue
        desk_id = str(desk.get("deskId"))
        for name in ("inputSchema", "outputSchema"):
            found = _json_problem(
                desk.get(name),
                "schemaDepth",
                "schemaBytes",
                f"desk {desk_id} {name}",
                deskId=desk_id,
            )
            if found is not None:
                return found
    for handoff in handoffs if isinstance(handoffs, list) else []:
        if not isinstance(handoff, Mapping):
            continue
        handoff_id = str(handoff.get("handoffId"))
        condition = handoff.get("condition")
        if isinstance(condition, str):
            if len(condition) > MAX_CONDITION_LENGTH:
                return _problem(
                    "conditionLength",
                    len(condition),
                    f"Handoff {handoff_id}: a condition has at most "
                    f"{MAX_CONDITION_LENGTH} characters",
                    handoffId=handoff_id,
                )
            if _condition_too_nested(condition):
                return _problem(
                    "conditionNesting",
                    None,
                    f"Handoff {handoff_id}: a condition nests at most "
                    f"{MAX_CONDITION_NESTING} levels",
                    handoffId=handoff_id,
                )
        refs = handoff.get("mappingRefs")
        if isinstance(refs, Mapping):
            if len(refs) > MAX_MAPPING_REFS:
                return _problem(
                    "mappingRefs",
                    len(refs),
                    f"Handoff {handoff_id}: at most {MAX_MAPPING_REFS} mappingRefs",
                    handoffId=handoff_id,
                )
            for source in refs.values():
                if isinstance(source, str) and len(source) > MAX_MAPPING_PATH_LENGTH:
                    return _problem(
                        "mappingPathLength",
                        len(source),
                        f"Handoff {handoff_id}: a mappingRefs path has at most "
                        f"{MAX_MAPPING_PATH_LENGTH} characters",
                        handoffId=handoff_id,
                    )
    return _json_problem(document, "documentDepth", "documentBytes", "workflow document")


def run_input_limit_problem(run_input: Any) -> dict[str, Any] | None:
    """The limit a run's ``input`` exceeds (``{"message", "data"}``), or ``None``."""
    return _json_problem(run_input, "runInputDepth", "runInputBytes", "run input")
