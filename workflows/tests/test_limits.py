"""``workflows.limits``: storable-value checks and safe reading/showing, all iterative."""

from __future__ import annotations

import json
import time

import pytest

from workflows.limits import (
    DISPLAY_MAX_CHARS,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    TRUNCATED_KEY,
    JsonLimitExceeded,
    SafeJSONDecoder,
    StepOutputLimitExceeded,
    check_json,
    check_step_output,
    json_limit_problem,
    loads_safely,
    preview,
    text_depth,
)


def deep(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = {"a": [value]} if depth % 2 else {"a": value}
    return value


def nested(depth: int):
    value = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def test_values_within_the_limits_pass():
    check_json(nested(MAX_JSON_DEPTH))
    check_json({"text": "x" * (MAX_JSON_BYTES - 20)})
    check_json([1, 2.5, None, True, False, "ok", {"k": []}])


@pytest.mark.parametrize(
    ("value", "limit", "code"),
    [
        (nested(MAX_JSON_DEPTH + 1), "depth", "JSON_TOO_DEEP"),
        (nested(100_000), "depth", "JSON_TOO_DEEP"),
        ({"text": "x" * MAX_JSON_BYTES}, "size", "JSON_TOO_LARGE"),
        ({"text": "a\x00b"}, "nul", "JSON_NOT_STORABLE"),
        ({"a\x00": 1}, "nul", "JSON_NOT_STORABLE"),
        ([float("nan")], "number", "JSON_NOT_STORABLE"),
        ({"x": float("inf")}, "number", "JSON_NOT_STORABLE"),
        ({"x": object()}, "type", "JSON_NOT_STORABLE"),
    ],
)
def test_values_over_a_limit_are_refused_with_a_code(value, limit, code):
    with pytest.raises(JsonLimitExceeded) as caught:
        check_json(value, what="test value")
    assert (caught.value.limit, caught.value.code) == (limit, code)
    assert caught.value.data()["limit"] == limit


def test_the_check_stops_at_the_limit():
    # 1,000 references to one 1 MiB string: the walk stops after the second.
    shared = "x" * (MAX_JSON_BYTES // 2)
    started = time.perf_counter()
    assert json_limit_problem([shared] * 1000).limit == "size"
    assert time.perf_counter() - started < 0.05


def test_step_output_check_is_a_coded_non_retriable_failure():
    check_step_output("fine", {"a": 1})
    with pytest.raises(StepOutputLimitExceeded) as caught:
        check_step_output("nested", nested(MAX_JSON_DEPTH + 1))
    assert caught.value.code == "STEP_OUTPUT_TOO_DEEP"
    with pytest.raises(StepOutputLimitExceeded) as caught:
        check_step_output("big", "x" * (MAX_JSON_BYTES + 1))
    assert caught.value.code == "STEP_OUTPUT_TOO_LARGE"


def test_text_depth_ignores_brackets_inside_strings():
    assert text_depth('{"a": "[[[{{{", "b": [1, [2]]}') == 3
    assert text_depth('"just a string with ]]] and \\" quotes"') == 0
    assert text_depth('{"a": ' * 5000 + "1" + "}" * 5000) == 5000


def test_stored_text_too_deep_to_decode_becomes_a_marker():
    text = '{"a": ' * 5000 + "1" + "}" * 5000
    for decoded in (loads_safely(text), json.loads(text, cls=SafeJSONDecoder)):
        assert decoded[TRUNCATED_KEY].startswith("stored value nested 5000 levels")
        assert decoded["depth"] == 5000 and decoded["preview"].startswith('{"a": {"a"')
    assert loads_safely('{"ok": [1, 2]}') == {"ok": [1, 2]}


def test_preview_truncates_depth_strings_items_and_total():
    shown = preview(nested(5000))
    text = json.dumps(shown)
    assert text.count('"a"') == 16 and "not shown" in text
    assert preview("x" * 5_000_000).endswith("(+4998000 chars)")
    listed = preview(list(range(1000)))
    assert len(listed) == 201 and listed[-1] == "… 800 more not shown"
    huge = preview([{"text": "y" * 1500} for _ in range(200)])
    assert len(json.dumps(huge, ensure_ascii=False)) < DISPLAY_MAX_CHARS * 1.2
    assert preview({"nul\x00key": "a\x00b"}) == {"nul\\u0000key": "a\\u0000b"}
    assert preview([float("nan")]) == ["nan"]
    assert preview({"ok": [1, {"b": None}]}) == {"ok": [1, {"b": None}]}
