"""The validator, code by code, against the original ``validateWorkflow`` (pure: no DB)."""

from __future__ import annotations

import copy
import itertools
import json
import time
from typing import Any

import pytest

from coordination.domain.document import (
    DocumentShapeError,
    check_document_shape,
    parse_document,
)
from coordination.domain.graph import (
    CycleError,
    has_cycle,
    incoming_adjacency,
    reachable_from_entry,
    topological_order,
)
from coordination.domain.validation import (
    VALIDATION_ERROR_CODES,
    is_schema_assignable,
    validate_workflow,
)
from coordination.examples import example_documents

TICKET = {"type": "object", "properties": {"ticket": {"type": "string"}}, "required": ["ticket"]}


def desk(desk_id: str, kind: str = "desk:analysis", **overrides: Any) -> dict[str, Any]:
    base = {
        "deskId": desk_id,
        "kind": kind,
        "name": f"Desk {desk_id}",
        "responsibility": "work",
        "domain": "coordination",
        "inputSchema": {},
        "outputSchema": {},
        "memoryScope": {"persist": False},
    }
    base.update(overrides)
    return base


def handoff(handoff_id: str, source: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"handoffId": handoff_id, "fromDeskId": source, "toDeskId": target, **extra}


def workflow(desks: list[dict], handoffs: list[dict], entry: str = "a", **extra: Any) -> dict:
    return {
        "workflowId": "wf-a",
        "version": 1,
        "name": "A",
        "entryDeskId": entry,
        "desks": desks,
        "handoffs": handoffs,
        **extra,
    }


@pytest.fixture
def base() -> dict[str, Any]:
    """The original test suite's ``baseWorkflow``."""
    return {
        "workflowId": "wf-a",
        "version": 1,
        "name": "A",
        "description": "demo",
        "entryDeskId": "desk-a",
        "desks": [
            desk(
                "desk-a",
                inputSchema=TICKET,
                outputSchema=TICKET,
                memoryScope={"persist": True, "namespace": "desk-a"},
            ),
            desk(
                "desk-b",
                "desk:execution",
                inputSchema=TICKET,
                outputSchema={
                    "type": "object",
                    "properties": {"done": {"type": "boolean"}},
                    "required": ["done"],
                },
            ),
        ],
        "handoffs": [handoff("h-a-b", "desk-a", "desk-b")],
    }


def codes(result: dict) -> list[str]:
    return [error["code"] for error in result["errors"]]


def only_error(document: dict) -> dict[str, Any]:
    result = validate_workflow(document)
    assert result["ok"] is False
    assert len(result["errors"]) == 1, result["errors"]
    return result["errors"][0]


# --- valid documents -------------------------------------------------------------------


def test_the_originals_base_workflow_is_valid(base):
    assert validate_workflow(base) == {"ok": True, "errors": []}


@pytest.mark.parametrize("document", example_documents(), ids=lambda d: d["workflowId"])
def test_examples_are_valid(document):
    assert validate_workflow(document) == {"ok": True, "errors": []}


def test_examples_have_the_promised_shapes():
    linear, fanout = example_documents()
    assert [d["kind"] for d in linear["desks"]] == ["desk:analysis", "desk:execution", "desk:qa"]
    kinds = {d["deskId"]: d["kind"] for d in fanout["desks"]}
    assert sorted(kinds.values()).count("desk:join") == 1
    assert "desk:human-wait" in kinds.values()
    assert len(incoming_adjacency(fanout)["merge"]) == 2
    assert topological_order(fanout)[-1] == "ship"


# --- one test per code -----------------------------------------------------------------


@pytest.mark.parametrize("workflow_id", ["", "   ", "\t\n", "\ufeff"])
def test_missing_workflow_id(workflow_id):
    error = only_error(workflow([desk("a")], [], workflowId=workflow_id))
    assert error == {
        "code": "MISSING_WORKFLOW_ID",
        "message": "Workflow must include a non-empty workflowId",
    }


@pytest.mark.parametrize("workflow_id", ["../../escape", "wf a", "-wf", "wf\n", "a" * 129, " wf"])
def test_invalid_workflow_id_format(workflow_id):
    error = only_error(workflow([desk("a")], [], workflowId=workflow_id))
    assert error == {
        "code": "INVALID_WORKFLOW_ID_FORMAT",
        "message": f"Workflow workflowId contains unsupported characters: {workflow_id}",
    }


def test_longest_safe_workflow_id_is_fine():
    assert validate_workflow(workflow([desk("a")], [], workflowId="a" * 128))["ok"] is True


def test_missing_entry_desk():
    error = only_error(workflow([], [], entry="ghost"))
    assert error == {
        "code": "MISSING_ENTRY_DESK",
        "message": "Entry desk ghost is missing from desks[]",
        "deskId": "ghost",
    }


def test_missing_entry_desk_also_disconnects_every_desk():
    result = validate_workflow(workflow([desk("a"), desk("b")], [], entry="ghost"))
    assert codes(result) == ["MISSING_ENTRY_DESK", "DISCONNECTED_DESK", "DISCONNECTED_DESK"]


def test_duplicate_desk_id():
    error = only_error(workflow([desk("a"), desk("a")], []))
    assert error == {
        "code": "DUPLICATE_DESK_ID",
        "message": "Duplicate deskId detected: a",
        "deskId": "a",
    }


def test_duplicate_desk_id_reported_for_every_repeat():
    result = validate_workflow(workflow([desk("a"), desk("a"), desk("a")], []))
    assert codes(result) == ["DUPLICATE_DESK_ID", "DUPLICATE_DESK_ID"]


@pytest.mark.parametrize("desk_id", ["bad id", "_a", "a/b", "a\n"])
def test_invalid_desk_id_format(desk_id):
    error = only_error(workflow([desk(desk_id)], [], entry=desk_id))
    assert error == {
        "code": "INVALID_DESK_ID_FORMAT",
        "message": f"Desk id contains unsupported characters: {desk_id}",
        "deskId": desk_id,
    }


def test_invalid_handoff_id_format():
    error = only_error(workflow([desk("a"), desk("b")], [handoff("h a", "a", "b")]))
    assert error == {
        "code": "INVALID_HANDOFF_ID_FORMAT",
        "message": "Handoff id contains unsupported characters: h a",
        "handoffId": "h a",
    }


PERSIST_MESSAGE = "Desk a has an invalid memoryScope (persist must be boolean)"
TTL_MESSAGE = "Desk a has invalid ttlSeconds; expected positive integer"


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({"persist": "yes"}, PERSIST_MESSAGE),
        ({"persist": 1}, PERSIST_MESSAGE),
        ({"persist": None}, PERSIST_MESSAGE),
        ({}, PERSIST_MESSAGE),
        (None, PERSIST_MESSAGE),
        ("persist", PERSIST_MESSAGE),
        ([True], PERSIST_MESSAGE),
        ({"persist": True, "ttlSeconds": 0}, TTL_MESSAGE),
        ({"persist": True, "ttlSeconds": -5}, TTL_MESSAGE),
        ({"persist": True, "ttlSeconds": 1.5}, TTL_MESSAGE),
        ({"persist": True, "ttlSeconds": "60"}, TTL_MESSAGE),
        # Number.isInteger(true) is false in JavaScript, whatever Python's bool says.
        ({"persist": True, "ttlSeconds": True}, TTL_MESSAGE),
        # null is not undefined: an explicit null ttlSeconds is invalid.
        ({"persist": False, "ttlSeconds": None}, TTL_MESSAGE),
    ],
)
def test_invalid_memory_scope(scope, message):
    error = only_error(workflow([desk("a", memoryScope=scope)], []))
    assert error == {"code": "INVALID_MEMORY_SCOPE", "message": message, "deskId": "a"}


def test_missing_memory_scope_is_invalid():
    document = workflow([desk("a")], [])
    del document["desks"][0]["memoryScope"]
    assert only_error(document)["code"] == "INVALID_MEMORY_SCOPE"


@pytest.mark.parametrize(
    "scope",
    [
        {"persist": True},
        {"persist": False, "namespace": "n"},
        {"persist": True, "ttlSeconds": 60},
        {"persist": True, "ttlSeconds": 3.0},  # an integer in JavaScript
        {"persist": True, "extra": "kept"},
    ],
)
def test_valid_memory_scopes(scope):
    assert validate_workflow(workflow([desk("a", memoryScope=scope)], []))["ok"] is True


@pytest.mark.parametrize("kind", ["desk:unknown", "analysis", "", "DESK:ANALYSIS"])
def test_unknown_desk_kind(kind):
    error = only_error(workflow([desk("a", kind)], []))
    assert error == {
        "code": "UNKNOWN_DESK_KIND",
        "message": f"Unknown desk kind for a: {kind}",
        "deskId": "a",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "desk:analysis",
        "desk:execution",
        "desk:qa",
        "desk:join",
        "desk:human-wait",
        "desk:observer",
    ],
)
def test_every_known_kind_is_valid(kind):
    assert validate_workflow(workflow([desk("a", kind)], []))["ok"] is True


def test_edge_unknown_source():
    error = only_error(workflow([desk("a")], [handoff("h-ghost-a", "ghost", "a")]))
    assert error == {
        "code": "EDGE_UNKNOWN_SOURCE",
        "message": "Handoff h-ghost-a source desk does not exist: ghost",
        "handoffId": "h-ghost-a",
        "deskId": "ghost",
    }


def test_edge_unknown_target():
    error = only_error(workflow([desk("a")], [handoff("h-a-ghost", "a", "ghost")]))
    assert error == {
        "code": "EDGE_UNKNOWN_TARGET",
        "message": "Handoff h-a-ghost target desk does not exist: ghost",
        "handoffId": "h-a-ghost",
        "deskId": "ghost",
    }


def test_unknown_source_skips_the_target_and_compatibility_checks():
    typed = {"type": "string"}
    document = workflow([desk("a", inputSchema=typed)], [handoff("h", "ghost", "ghost2")])
    assert codes(validate_workflow(document)) == ["EDGE_UNKNOWN_SOURCE"]


def test_cycle_detected():
    document = workflow([desk("a"), desk("b")], [handoff("h1", "a", "b"), handoff("h2", "b", "a")])
    error = only_error(document)
    assert error == {"code": "CYCLE_DETECTED", "message": "Workflow graph contains a cycle"}


def test_self_loop_is_a_cycle():
    assert only_error(workflow([desk("a")], [handoff("h", "a", "a")]))["code"] == "CYCLE_DETECTED"


def test_disconnected_desk():
    error = only_error(workflow([desk("a"), desk("b")], []))
    assert error == {
        "code": "DISCONNECTED_DESK",
        "message": "Desk b is not reachable from entry desk a",
        "deskId": "b",
    }


def test_incompatible_handoff(base):
    # The original test: desk-a's output no longer provides the required ticket.
    base["desks"][0]["outputSchema"] = {"type": "object", "properties": {}, "required": []}
    error = only_error(base)
    assert error == {
        "code": "INCOMPATIBLE_HANDOFF",
        "message": "Handoff h-a-b is incompatible: desk-a output does not satisfy desk-b input",
        "handoffId": "h-a-b",
    }


def diamond(join_kind: str) -> dict:
    return workflow(
        [desk("a"), desk("b"), desk("c"), desk("d", join_kind)],
        [
            handoff("h-a-b", "a", "b"),
            handoff("h-a-c", "a", "c"),
            handoff("h-b-d", "b", "d"),
            handoff("h-c-d", "c", "d"),
        ],
    )


def test_illegal_fan_in_without_join():
    error = only_error(diamond("desk:execution"))
    assert error == {
        "code": "ILLEGAL_FAN_IN_WITHOUT_JOIN",
        "message": "Desk d has 2 inbound handoffs and must be kind desk:join",
        "deskId": "d",
    }


def test_fan_in_into_a_join_is_fine():
    assert validate_workflow(diamond("desk:join")) == {"ok": True, "errors": []}


def test_fan_in_counts_handoffs_from_unknown_desks_too(base):
    # As the original's incomingAdjacency: the inbound list is keyed by the target only.
    base["handoffs"].append(handoff("h-ghost-b", "ghost", "desk-b"))
    assert codes(validate_workflow(base)) == ["EDGE_UNKNOWN_SOURCE", "ILLEGAL_FAN_IN_WITHOUT_JOIN"]


def test_the_originals_fan_in_test(base):
    base["desks"].append(desk("desk-c", inputSchema={"type": "object"}, outputSchema=TICKET))
    base["handoffs"].append(handoff("h-c-b", "desk-c", "desk-b"))
    result = validate_workflow(base)
    assert "ILLEGAL_FAN_IN_WITHOUT_JOIN" in codes(result)


def test_the_originals_empty_workflow_fails(base):
    result = validate_workflow({**base, "desks": [], "handoffs": []})
    assert codes(result) == ["MISSING_ENTRY_DESK"]


def test_every_code_has_a_test():
    tested = {
        name.removeprefix("test_").upper()
        for name in globals()
        if name.startswith("test_") and name.removeprefix("test_").upper() in VALIDATION_ERROR_CODES
    }
    assert tested == set(VALIDATION_ERROR_CODES)


def test_errors_come_in_the_originals_order():
    document = {
        "workflowId": "bad id",
        "version": 1,
        "name": "many",
        "entryDeskId": "a",
        "desks": [
            desk("a", outputSchema={"type": "string"}),
            desk("a", "desk:bogus"),
            desk("b b", memoryScope={"persist": "no"}, inputSchema={"type": "number"}),
            desk("c"),
            desk("lonely"),
        ],
        "handoffs": [
            handoff("h 1", "a", "b b"),
            handoff("h2", "ghost", "c"),
            handoff("h3", "a", "ghost"),
            handoff("h4", "c", "b b"),
            handoff("h5", "b b", "c"),
        ],
    }
    result = validate_workflow(document)
    assert [(e["code"], e.get("deskId"), e.get("handoffId")) for e in result["errors"]] == [
        ("INVALID_WORKFLOW_ID_FORMAT", None, None),
        ("DUPLICATE_DESK_ID", "a", None),
        ("UNKNOWN_DESK_KIND", "a", None),
        ("INVALID_DESK_ID_FORMAT", "b b", None),
        ("INVALID_MEMORY_SCOPE", "b b", None),
        ("INVALID_HANDOFF_ID_FORMAT", None, "h 1"),
        ("INCOMPATIBLE_HANDOFF", None, "h 1"),
        ("EDGE_UNKNOWN_SOURCE", "ghost", "h2"),
        ("EDGE_UNKNOWN_TARGET", "ghost", "h3"),
        ("INCOMPATIBLE_HANDOFF", None, "h4"),
        ("ILLEGAL_FAN_IN_WITHOUT_JOIN", "b b", None),
        ("ILLEGAL_FAN_IN_WITHOUT_JOIN", "c", None),
        ("CYCLE_DETECTED", None, None),
        ("DISCONNECTED_DESK", "lonely", None),
    ]
    assert result["ok"] is False


def test_validation_does_not_change_the_document(base):
    before = copy.deepcopy(base)
    validate_workflow(base)
    assert base == before


# --- schema compatibility --------------------------------------------------------------


def obj(properties: dict, required: list | None = None) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    return schema


S, N, INT, B = {"type": "string"}, {"type": "number"}, {"type": "integer"}, {"type": "boolean"}


@pytest.mark.parametrize(
    ("output", "input_", "expected"),
    [
        (S, S, True),
        (S, N, False),
        (B, S, False),
        (INT, N, True),  # an integer is a number
        (N, INT, False),  # a number is not necessarily an integer
        (INT, INT, True),
        ({"type": "null"}, {"type": "null"}, True),
        # untyped input accepts anything; untyped output satisfies nothing typed
        ({}, {}, True),
        (S, {}, True),
        ({}, S, False),
        ({"description": "whatever"}, obj({}), False),
        # objects: every required input property must be provided compatibly
        (obj({"x": S}), obj({"x": S}, ["x"]), True),
        (obj({"x": S}, ["x"]), obj({"x": S}, ["x"]), True),
        (obj({}), obj({"x": S}, ["x"]), False),
        (obj({"x": N}), obj({"x": S}, ["x"]), False),
        (obj({"x": INT}), obj({"x": N}, ["x"]), True),
        (obj({"x": S, "y": B}), obj({"x": S}, ["x"]), True),  # extra output is fine
        (obj({}), obj({"x": S}), True),  # nothing required
        (obj({"x": S}), {"type": "object", "required": ["x"]}, False),  # undeclared input
        # nested objects
        (obj({"o": obj({"n": INT}, ["n"])}), obj({"o": obj({"n": N}, ["n"])}, ["o"]), True),
        (obj({"o": obj({"n": S})}), obj({"o": obj({"n": N}, ["n"])}, ["o"]), False),
        (obj({"o": obj({})}), obj({"o": obj({"n": N}, ["n"])}, ["o"]), False),
        # arrays and their items
        ({"type": "array", "items": INT}, {"type": "array", "items": N}, True),
        ({"type": "array", "items": N}, {"type": "array", "items": INT}, False),
        ({"type": "array"}, {"type": "array", "items": S}, False),
        ({"type": "array", "items": S}, {"type": "array"}, True),
        ({"type": "array"}, {"type": "array"}, True),
        (
            {"type": "array", "items": obj({"id": S}, ["id"])},
            {"type": "array", "items": obj({"id": S}, ["id"])},
            True,
        ),
        (
            {"type": "array", "items": obj({})},
            {"type": "array", "items": obj({"id": S}, ["id"])},
            False,
        ),
        ({"type": "array", "items": S}, S, False),
    ],
)
def test_schema_assignability(output, input_, expected):
    assert is_schema_assignable(output, input_) is expected


@pytest.mark.parametrize(
    ("output", "input_", "expected"),
    [
        # {} is truthy in JavaScript: an empty property schema is present and untyped.
        (obj({"x": {}}), obj({"x": {}}, ["x"]), True),
        (obj({"x": S}), obj({"x": {}}, ["x"]), True),
        # a list "type" is compared by identity in the original: never equal
        ({"type": ["string", "null"]}, {"type": ["string", "null"]}, False),
        # "" and null are falsy types: the input accepts anything
        (S, {"type": ""}, True),
        (S, {"type": None}, True),
        # required keys that plain objects inherit (constructor, toString...) resolve to
        # untyped functions in the original, so they count as provided
        (obj({}), {"type": "object", "required": ["constructor"]}, True),
        # "required" that JavaScript cannot iterate (the original throws): refused
        (obj({"x": S}), {"type": "object", "required": 5}, False),
        # a string "required" is iterated per character, as for-of does
        (obj({"a": S, "b": S}), obj({"a": S, "b": S}, "ab"), True),
        (obj({"a": S}), obj({"a": S, "b": S}, "ab"), False),
        # numeric required keys index properties by their string form
        (obj({"1": S}), obj({"1": S}, [1]), True),
        # enum / oneOf are not understood (same type is enough)
        ({"type": "string", "enum": ["x"]}, {"type": "string", "enum": ["y"]}, True),
    ],
)
def test_schema_assignability_keeps_javascript_semantics(output, input_, expected):
    assert is_schema_assignable(output, input_) is expected


def test_integer_output_into_number_input_inside_a_workflow():
    document = workflow(
        [
            desk("a", outputSchema=obj({"n": INT}, ["n"])),
            desk("b", inputSchema=obj({"n": N}, ["n"])),
        ],
        [handoff("h", "a", "b")],
    )
    assert validate_workflow(document)["ok"] is True
    document["desks"][0]["outputSchema"] = obj({"n": N}, ["n"])
    document["desks"][1]["inputSchema"] = obj({"n": INT}, ["n"])
    assert only_error(document)["code"] == "INCOMPATIBLE_HANDOFF"


# --- shape ------------------------------------------------------------------------------


def issue_paths(document: Any) -> list[list]:
    return [issue["path"] for issue in check_document_shape(document)]


def test_shape_accepts_what_the_validator_reports(base):
    base["desks"][0]["kind"] = "desk:whatever"
    base["desks"][0]["memoryScope"] = {"persist": "yes", "ttlSeconds": "never"}
    base["desks"][1]["memoryScope"] = None
    base["workflowId"] = ""
    base["entryDeskId"] = ""
    assert check_document_shape(base) == []


def test_shape_keeps_unknown_keys(base):
    base["x-owner"] = {"team": "ops"}
    base["desks"][0]["x-color"] = "red"
    base["handoffs"][0]["x-note"] = 1
    assert check_document_shape(base) == []
    parsed = parse_document(base)
    assert parsed.model_extra == {"x-owner": {"team": "ops"}}
    assert parsed.desks[0].model_extra == {"x-color": "red"}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("desks"), ["desks"]),
        (lambda d: d.update(desks={}), ["desks"]),
        (lambda d: d.update(handoffs=None), ["handoffs"]),
        (lambda d: d.pop("workflowId"), ["workflowId"]),
        (lambda d: d.update(name=5), ["name"]),
        (lambda d: d.update(entryDeskId=None), ["entryDeskId"]),
        (lambda d: d.update(version="1"), ["version"]),
        (lambda d: d.update(version=True), ["version"]),
        (lambda d: d.update(version=1.5), ["version"]),
        (lambda d: d.update(description=None), ["description"]),
        (lambda d: d.update(observabilityProfile="verbose"), ["observabilityProfile"]),
        (lambda d: d.update(updatedAt=0), ["updatedAt"]),
        (lambda d: d["desks"].append("desk"), ["desks", 2]),
        (lambda d: d["desks"][0].pop("responsibility"), ["desks", 0, "responsibility"]),
        (lambda d: d["desks"][0].update(inputSchema=True), ["desks", 0, "inputSchema"]),
        (lambda d: d["desks"][1].update(deskId=7), ["desks", 1, "deskId"]),
        (
            lambda d: d["desks"][0].update(runtimePolicy={"retries": -1}),
            ["desks", 0, "runtimePolicy", "retries"],
        ),
        (
            lambda d: d["desks"][0].update(runtimePolicy={"priority": "urgent"}),
            ["desks", 0, "runtimePolicy", "priority"],
        ),
        (lambda d: d["handoffs"][0].pop("toDeskId"), ["handoffs", 0, "toDeskId"]),
        (lambda d: d["handoffs"][0].update(condition=1), ["handoffs", 0, "condition"]),
        (
            lambda d: d["handoffs"][0].update(mappingRefs={"x": 1}),
            ["handoffs", 0, "mappingRefs", "x"],
        ),
    ],
)
def test_shape_refuses_structural_problems(base, change, path):
    change(base)
    assert path in issue_paths(base)
    with pytest.raises(DocumentShapeError) as caught:
        validate_workflow(base)
    assert path in [issue["path"] for issue in caught.value.issues]


def test_shape_accepts_integral_floats_and_optional_fields(base):
    base["version"] = 3.0
    base["desks"][0]["runtimePolicy"] = {"retries": 2, "timeoutSeconds": 30.0, "priority": "low"}
    base["handoffs"][0]["mappingRefs"] = {"ticket": "$.ticket"}
    assert check_document_shape(base) == []
    del base["version"]  # saving assigns it
    assert check_document_shape(base) == []


def test_shape_of_a_non_object():
    assert issue_paths([]) == [[]]
    assert issue_paths("{}") == [[]]


# --- graph helpers ---------------------------------------------------------------------


def test_topological_order_is_the_originals_kahn_order():
    # Zero in-degree desks in document order, then FIFO, targets in handoff order.
    document = workflow(
        [desk("a"), desk("c"), desk("b"), desk("z")],
        [handoff("h1", "a", "b"), handoff("h2", "a", "c"), handoff("h3", "z", "c")],
    )
    assert topological_order(document) == ["a", "z", "b", "c"]


def test_topological_order_refuses_a_cycle():
    document = workflow([desk("a"), desk("b")], [handoff("h1", "a", "b"), handoff("h2", "b", "a")])
    with pytest.raises(CycleError):
        topological_order(document)


def test_reachability_follows_handoffs_from_the_entry():
    document = workflow(
        [desk("a"), desk("b"), desk("c")], [handoff("h1", "a", "b"), handoff("h2", "c", "a")]
    )
    assert reachable_from_entry(document) == {"a", "b"}


def test_long_chains_do_not_hit_the_recursion_limit():
    ids = [f"d{i}" for i in range(5000)]
    document = workflow(
        [desk(i) for i in ids],
        [handoff(f"h{n}", a, b) for n, (a, b) in enumerate(itertools.pairwise(ids))],
        entry="d0",
    )
    assert has_cycle(document) is False
    assert validate_workflow(document)["ok"] is True
    document["handoffs"].append(handoff("back", ids[-1], ids[0]))
    assert has_cycle(document) is True


# --- bounded work --------------------------------------------------------------------


def nested_schema(depth: int, repeats: int, leaf: str = "string") -> dict[str, Any]:
    """An object schema ``depth`` levels deep whose ``required`` names its one property
    ``repeats`` times at every level (the shape that made the original's check n**depth)."""
    schema: dict[str, Any] = {"type": leaf}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"] * repeats}
    return schema


def test_a_hostile_3_6_kb_document_validates_in_under_50_ms():
    # Issue 10: 8 repeats at 8 levels is 8**8 = 16.7 M comparisons for the original's
    # check (11 s for a 3.6 KB document); memoised and de-duplicated it is one per level.
    hostile = workflow(
        [
            desk("a", inputSchema=nested_schema(8, 8), outputSchema=nested_schema(8, 8)),
            desk("b", inputSchema=nested_schema(8, 8), outputSchema=nested_schema(8, 8)),
        ],
        [handoff("a-b", "a", "b")],
    )
    assert 3000 < len(json.dumps(hostile)) <= 3700
    started = time.perf_counter()
    result = validate_workflow(hostile)
    elapsed = time.perf_counter() - started
    assert result == {"ok": True, "errors": []}
    assert elapsed < 0.05, f"validation took {elapsed * 1000:.1f} ms"


def test_repeated_required_entries_keep_their_meaning():
    provided = nested_schema(6, 5)
    assert is_schema_assignable(provided, nested_schema(6, 5)) is True
    # The deepest leaf differs: every repeat at every level reaches it; the answer is no.
    assert is_schema_assignable(provided, nested_schema(6, 5, leaf="boolean")) is False
    needs_more = nested_schema(2, 3)
    needs_more["required"] = ["a", "a", "missing", "a"]
    assert is_schema_assignable(provided, needs_more) is False
