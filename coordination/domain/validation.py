"""``validate_workflow``: the original ``validateWorkflow``, code for code and in its order.

Checks, in the order errors are reported:

1. ``MISSING_WORKFLOW_ID`` (empty after trimming) or ``INVALID_WORKFLOW_ID_FORMAT``.
2. ``MISSING_ENTRY_DESK``: ``entryDeskId`` names no desk.
3. For each desk, in document order: ``DUPLICATE_DESK_ID`` (second and later occurrences),
   ``INVALID_DESK_ID_FORMAT``, ``INVALID_MEMORY_SCOPE`` (``persist`` not a boolean, or
   ``ttlSeconds`` present but not a positive integer), ``UNKNOWN_DESK_KIND``.
4. For each handoff, in document order: ``INVALID_HANDOFF_ID_FORMAT``, then
   ``EDGE_UNKNOWN_SOURCE`` or ``EDGE_UNKNOWN_TARGET`` (either ends that handoff's checks),
   then ``INCOMPATIBLE_HANDOFF`` (see ``is_schema_assignable``).
5. ``ILLEGAL_FAN_IN_WITHOUT_JOIN``: a desk with more than one inbound handoff that is not a
   ``desk:join`` (one error per such desk, document order).
6. ``CYCLE_DETECTED`` (once, no desk id).
7. ``DISCONNECTED_DESK``: each desk not reachable from the entry desk.

Conditions and ``mappingRefs`` are not checked: the original does not look at them.

JavaScript semantics are kept where Python differs: truthiness (``{}`` and ``[]`` are
truthy), ``Number.isInteger`` (``3.0`` is an integer, ``True`` is not), strict equality
(``True !== 1``), ``trim()``'s whitespace set, and property lookup on plain objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from coordination.domain.document import (
    DESK_KINDS_V1,
    DocumentShapeError,
    check_document_shape,
    is_json_integer,
)
from coordination.domain.graph import (
    desk_map,
    has_cycle,
    incoming_adjacency,
    reachable_from_entry,
)
from coordination.domain.ids import is_safe_coordination_id, js_trim

__all__ = [
    "VALIDATION_ERROR_CODES",
    "ValidationErrorV1",
    "ValidationResultV1",
    "is_schema_assignable",
    "validate_workflow",
]

VALIDATION_ERROR_CODES: tuple[str, ...] = (
    "MISSING_WORKFLOW_ID",
    "INVALID_WORKFLOW_ID_FORMAT",
    "MISSING_ENTRY_DESK",
    "DUPLICATE_DESK_ID",
    "INVALID_DESK_ID_FORMAT",
    "INVALID_HANDOFF_ID_FORMAT",
    "INVALID_MEMORY_SCOPE",
    "UNKNOWN_DESK_KIND",
    "EDGE_UNKNOWN_SOURCE",
    "EDGE_UNKNOWN_TARGET",
    "CYCLE_DETECTED",
    "DISCONNECTED_DESK",
    "INCOMPATIBLE_HANDOFF",
    "ILLEGAL_FAN_IN_WITHOUT_JOIN",
)


class _ValidationErrorBase(TypedDict):
    code: str
    message: str


class ValidationErrorV1(_ValidationErrorBase, total=False):
    deskId: str
    handoffId: str


class ValidationResultV1(TypedDict):
    ok: bool
    errors: list[ValidationErrorV1]


# --- JavaScript semantics the original relies on -------------------------------------

#: Names every plain JS object inherits from ``Object.prototype``: ``obj[name]`` is a
#: truthy function (or object) with no ``type``, even when ``obj`` has no such key.
_OBJECT_PROTOTYPE_NAMES = frozenset(
    {
        "constructor",
        "__proto__",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toLocaleString",
        "toString",
        "valueOf",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    }
)
#: Stands for such an inherited member: truthy, and reading ``.type`` on it is undefined.
_INHERITED: dict[str, Any] = {}
_UNDEFINED = object()


def _truthy(value: Any) -> bool:
    """JavaScript truthiness (``{}`` and ``[]`` are truthy; ``NaN``, ``0``, ``""`` are not)."""
    if value is _UNDEFINED or value is None or value is False:
        return False
    if value is _INHERITED:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == value and value != 0  # NaN != NaN
    if isinstance(value, str):
        return value != ""
    return True


def _property_key(value: Any) -> str:
    """The string JavaScript uses when ``value`` indexes an object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_json_integer(value):
        return str(int(value))
    return str(value)


def _get(obj: Any, key: Any) -> Any:
    """``obj[key]`` for a JSON value: ``_UNDEFINED`` when absent."""
    if isinstance(obj, Mapping):
        name = _property_key(key)
        if name in obj:
            return obj[name]
        if name in _OBJECT_PROTOTYPE_NAMES:
            return _INHERITED
    return _UNDEFINED


def _strict_equal(a: Any, b: Any) -> bool:
    """``a === b`` for JSON values: arrays and objects are equal only to themselves."""
    if isinstance(a, Mapping | list) or isinstance(b, Mapping | list):
        return a is b
    a_is_number = isinstance(a, int | float) and not isinstance(a, bool)
    b_is_number = isinstance(b, int | float) and not isinstance(b, bool)
    if a_is_number or b_is_number:
        return a_is_number and b_is_number and a == b
    return type(a) is type(b) and a == b


def _iterate(value: Any) -> list[Any] | None:
    """``for (const x of value ?? [])``: ``None`` where JavaScript would throw."""
    if value is _UNDEFINED or value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return list(value)
    return None


# --- schema compatibility ------------------------------------------------------------


def is_schema_assignable(
    output_schema: Any, input_schema: Any, memo: dict[tuple[int, int], bool] | None = None
) -> bool:
    """Does every value valid for ``output_schema`` satisfy ``input_schema``? (Approximately.)

    - An input schema with no ``type`` accepts anything; an output schema with no ``type``
      satisfies nothing typed.
    - Types must be equal, except that ``integer`` output satisfies ``number`` input.
    - Objects: every ``required`` input property must be declared by the input and provided
      by an output property (required or not) whose schema is assignable to it.
    - Arrays: when the input constrains ``items``, the output must declare assignable
      ``items``.

    ``enum``, ``oneOf``/``anyOf``/``allOf``, ``additionalProperties`` and a list ``type``
    are not understood: a list ``type`` never equals anything, as in the original.

    Linear in the schemas: the original compared once per ``required`` entry, repeats
    included, at every depth (``n ** depth`` work: a 3.6 KB document took seconds). Repeated
    entries collapse (the answer is an "and" over them), and each (output, input) pair of
    sub-schemas is compared once per ``memo`` (``validate_workflow`` shares one across the
    document's handoffs), so every sub-schema is visited at most once per pairing.
    """
    if memo is None:
        memo = {}
    key = (id(output_schema), id(input_schema))
    known = memo.get(key)
    if known is None:
        known = memo[key] = _assignable(output_schema, input_schema, memo)
    return known


def _unique_keys(keys: list[Any]) -> list[Any]:
    """``keys`` without repeats (first occurrence kept); keys compare as JS property names."""
    seen: set[str] = set()
    unique = []
    for key in keys:
        name = _property_key(key)
        if name not in seen:
            seen.add(name)
            unique.append(key)
    return unique


def _assignable(output_schema: Any, input_schema: Any, memo: dict[tuple[int, int], bool]) -> bool:
    input_type = _get(input_schema, "type")
    if not _truthy(input_type):
        return True
    output_type = _get(output_schema, "type")
    if not _truthy(output_type):
        return False

    if not (
        _strict_equal(output_type, input_type)
        or (_strict_equal(output_type, "integer") and _strict_equal(input_type, "number"))
    ):
        return False

    if _strict_equal(input_type, "object"):
        required = _get(input_schema, "required")
        input_properties = _get(input_schema, "properties")
        output_properties = _get(output_schema, "properties")
        if input_properties is _UNDEFINED or input_properties is None:
            input_properties = {}
        if output_properties is _UNDEFINED or output_properties is None:
            output_properties = {}
        required_keys = _iterate(required)
        if required_keys is None:
            # The original throws here (a non-iterable "required"); refuse the handoff.
            return False
        for required_key in _unique_keys(required_keys):
            needed = _get(input_properties, required_key)
            provided = _get(output_properties, required_key)
            if not _truthy(needed) or not _truthy(provided):
                return False
            if not is_schema_assignable(provided, needed, memo):
                return False

    if _strict_equal(input_type, "array"):
        input_items = _get(input_schema, "items")
        if _truthy(input_items):
            output_items = _get(output_schema, "items")
            if not _truthy(output_items):
                return False
            if not is_schema_assignable(output_items, input_items, memo):
                return False

    return True


# --- the validator -------------------------------------------------------------------


def validate_workflow(document: Mapping[str, Any]) -> ValidationResultV1:
    """``{"ok", "errors"}`` for a document, exactly as the original ``validateWorkflow``.

    ``document`` must be structurally valid (``document.check_document_shape``); a
    malformed one raises ``DocumentShapeError``. Pure: no database, no clock.
    """
    issues = check_document_shape(document)
    if issues:
        raise DocumentShapeError(issues)

    errors: list[ValidationErrorV1] = []
    #: One memo for every handoff: the sub-schemas live as long as ``document`` does.
    memo: dict[tuple[int, int], bool] = {}
    workflow_id = document["workflowId"]
    if js_trim(workflow_id) == "":
        errors.append(
            {
                "code": "MISSING_WORKFLOW_ID",
                "message": "Workflow must include a non-empty workflowId",
            }
        )
    elif not is_safe_coordination_id(workflow_id):
        errors.append(
            {
                "code": "INVALID_WORKFLOW_ID_FORMAT",
                "message": f"Workflow workflowId contains unsupported characters: {workflow_id}",
            }
        )

    desks = desk_map(document)
    entry_desk_id = document["entryDeskId"]
    if entry_desk_id not in desks:
        errors.append(
            {
                "code": "MISSING_ENTRY_DESK",
                "message": f"Entry desk {entry_desk_id} is missing from desks[]",
                "deskId": entry_desk_id,
            }
        )

    seen_desk_ids: set[str] = set()
    for desk in document["desks"]:
        desk_id = desk["deskId"]
        if desk_id in seen_desk_ids:
            errors.append(
                {
                    "code": "DUPLICATE_DESK_ID",
                    "message": f"Duplicate deskId detected: {desk_id}",
                    "deskId": desk_id,
                }
            )
        seen_desk_ids.add(desk_id)

        if not is_safe_coordination_id(desk_id):
            errors.append(
                {
                    "code": "INVALID_DESK_ID_FORMAT",
                    "message": f"Desk id contains unsupported characters: {desk_id}",
                    "deskId": desk_id,
                }
            )

        scope = desk.get("memoryScope", _UNDEFINED)
        if not _truthy(scope) or not isinstance(_get(scope, "persist"), bool):
            errors.append(
                {
                    "code": "INVALID_MEMORY_SCOPE",
                    "message": (
                        f"Desk {desk_id} has an invalid memoryScope (persist must be boolean)"
                    ),
                    "deskId": desk_id,
                }
            )
        else:
            # Only an absent key is "undefined": an explicit null ttlSeconds is invalid.
            ttl = _get(scope, "ttlSeconds")
            if ttl is not _UNDEFINED and (not is_json_integer(ttl) or ttl <= 0):
                errors.append(
                    {
                        "code": "INVALID_MEMORY_SCOPE",
                        "message": (
                            f"Desk {desk_id} has invalid ttlSeconds; expected positive integer"
                        ),
                        "deskId": desk_id,
                    }
                )

        kind = desk["kind"]
        if kind not in DESK_KINDS_V1:
            errors.append(
                {
                    "code": "UNKNOWN_DESK_KIND",
                    "message": f"Unknown desk kind for {desk_id}: {kind}",
                    "deskId": desk_id,
                }
            )

    for handoff in document["handoffs"]:
        handoff_id = handoff["handoffId"]
        from_id = handoff["fromDeskId"]
        to_id = handoff["toDeskId"]
        if not is_safe_coordination_id(handoff_id):
            errors.append(
                {
                    "code": "INVALID_HANDOFF_ID_FORMAT",
                    "message": f"Handoff id contains unsupported characters: {handoff_id}",
                    "handoffId": handoff_id,
                }
            )

        if from_id not in desks:
            errors.append(
                {
                    "code": "EDGE_UNKNOWN_SOURCE",
                    "message": f"Handoff {handoff_id} source desk does not exist: {from_id}",
                    "handoffId": handoff_id,
                    "deskId": from_id,
                }
            )
            continue

        if to_id not in desks:
            errors.append(
                {
                    "code": "EDGE_UNKNOWN_TARGET",
                    "message": f"Handoff {handoff_id} target desk does not exist: {to_id}",
                    "handoffId": handoff_id,
                    "deskId": to_id,
                }
            )
            continue

        source = desks[from_id]
        target = desks[to_id]
        if not is_schema_assignable(source["outputSchema"], target["inputSchema"], memo):
            errors.append(
                {
                    "code": "INCOMPATIBLE_HANDOFF",
                    "message": (
                        f"Handoff {handoff_id} is incompatible: {source['deskId']} output "
                        f"does not satisfy {target['deskId']} input"
                    ),
                    "handoffId": handoff_id,
                }
            )

    incoming = incoming_adjacency(document)
    for desk in document["desks"]:
        inbound_count = len(incoming.get(desk["deskId"], []))
        if inbound_count > 1 and desk["kind"] != "desk:join":
            errors.append(
                {
                    "code": "ILLEGAL_FAN_IN_WITHOUT_JOIN",
                    "message": (
                        f"Desk {desk['deskId']} has {inbound_count} inbound handoffs and "
                        "must be kind desk:join"
                    ),
                    "deskId": desk["deskId"],
                }
            )

    if has_cycle(document):
        errors.append({"code": "CYCLE_DETECTED", "message": "Workflow graph contains a cycle"})

    reachable = reachable_from_entry(document)
    for desk in document["desks"]:
        if desk["deskId"] not in reachable:
            errors.append(
                {
                    "code": "DISCONNECTED_DESK",
                    "message": (
                        f"Desk {desk['deskId']} is not reachable from entry desk {entry_desk_id}"
                    ),
                    "deskId": desk["deskId"],
                }
            )

    return {"ok": not errors, "errors": errors}
