"""The handoff condition language: grammar, meaning, and syntax errors (pure: no DB)."""

from __future__ import annotations

import pytest

from coordination.domain.conditions import (
    MAX_CONDITION_LENGTH,
    ConditionError,
    check_condition_syntax,
    compile_condition,
    evaluate_condition,
    parse_path,
)

OUTPUT = {
    "status": "ok",
    "score": 0.85,
    "count": 3,
    "flagged": False,
    "items": [{"id": "x", "tags": ["a"]}, {"id": "y", "tags": []}],
    "empty": [],
    "decision": "ship",
    "review": {"state": "done", "by": None},
    "odd key": 1,
    "ticket-id": "T-1",
    "nested": {"in": True, "true": "yes", "length": 42},
    "zero": 0,
    "blank": "",
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # the examples from the brief
        ('status == "ok"', True),
        ("score >= 0.8 && !flagged", True),
        ("items.length > 0", True),
        ('decision in ["approve", "ship"]', True),
        ('decision in ["approve", "hold"]', False),
        # literals
        ("true", True),
        ("false", False),
        ("null", False),
        ("0", False),
        ("1", True),
        ('""', False),
        ("'x'", True),
        ("-1 < 0", True),
        ("1e2 == 100", True),
        ("2.5 > 2", True),
        # paths
        ("$.status == 'ok'", True),
        ("review.state == 'done'", True),
        ("review.by == null", True),
        ("missing == null", True),
        ("missing.deeper.still == null", True),
        ("items.0.id == 'x'", True),
        ("items[1].id == 'y'", True),
        ("items[5].id == null", True),
        ('$["odd key"] == 1', True),
        ("ticket-id == 'T-1'", True),
        ("$.nested.in", True),
        ('$.nested["true"] == "yes"', True),
        ("nested.length == 42", True),  # an object's own "length" key
        ("status.length == 2", True),
        ("items[0].tags.length == 1 && items[1].tags.length == 0", True),
        ("$ == null", False),
        # truthiness is JavaScript's
        ("empty", True),
        ("review", True),
        ("zero", False),
        ("blank", False),
        ("!missing", True),
        ("!!status", True),
        # boolean operators and precedence
        ("flagged || status == 'ok'", True),
        ("flagged && missing.x.y", False),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("!flagged == true", True),  # ! binds tighter than ==
        ("!(status == 'ok')", False),
        ("count > 1 && count < 5 && !(count == 4)", True),
        # equality is deep and never coerces
        ("count == 3.0", True),
        ("count == '3'", False),
        ("flagged == 0", False),
        ("true == 1", False),
        ("null == false", False),
        ("empty == []", True),
        ("items[0].tags == ['a']", True),
        ("review == review", True),
        ("status != 'bad'", True),
        # ordering needs two numbers or two strings
        ("'abc' < 'abd'", True),
        ("missing >= 0.8", False),
        ("missing < 0.8", False),
        ("status > 1", False),
        ("true > false", False),
        ("count <= 3 && count >= 3", True),
        # in
        ("'o' in status", True),
        ("'state' in review", True),
        ("'nope' in review", False),
        ("1 in [1.0, 2]", True),
        ("null in [null]", True),
        ("'x' in 5", False),
        ("3 in status", False),
        ("[] in [[]]", True),
        ("[1,] == [1]", True),
    ],
)
def test_evaluation(expression, expected):
    assert evaluate_condition(expression, OUTPUT) is expected


@pytest.mark.parametrize("expression", [None, "", "   ", "\n\t"])
def test_empty_condition_is_always_true(expression):
    assert evaluate_condition(expression, None) is True
    assert check_condition_syntax(expression) is None


def test_output_may_be_any_json_value():
    assert evaluate_condition("$ == 5", 5) is True
    assert evaluate_condition("$.length == 2", [1, 2]) is True
    assert evaluate_condition("$[0] == 1", [1, 2]) is True
    assert evaluate_condition("status == null", None) is True
    assert evaluate_condition("$", None) is False


def test_short_circuit_and_no_side_effects():
    data = {"a": {"b": 1}}
    assert evaluate_condition("missing && missing.x > 1", data) is False
    assert data == {"a": {"b": 1}}


def test_compiled_predicate_is_reusable():
    predicate = compile_condition("score > 0.5")
    assert predicate({"score": 1}) is True
    assert predicate({"score": 0}) is False


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("status ==", "Expected a value but found end of condition at position 9"),
        ("status = 'ok'", "Unexpected character '=' at position 7"),
        ("a < b < c", "Comparisons do not chain"),
        ("(a", "Expected ')'"),
        ("a)", "found ')'"),
        ("'abc", "Unterminated string"),
        ('"a\\q"', "Unknown escape \\q"),
        ('"\\u12"', "Bad \\u escape"),
        ("a.", "Expected a key name after '.'"),
        ("a..b", "Expected a key name after '.'"),
        ("$.[0]", "Expected a key name after '.'"),
        ("a[-1]", "non-negative integer"),
        ("a[1.5]", "non-negative integer"),
        ("a[b]", "non-negative integer"),
        ("[1, 2", "Expected ']'"),
        ("in", "Expected a value but found 'in'"),
        ("!", "Expected a value"),
        ("a b", "Expected an operator or the end of the condition but found 'b'"),
        ("a & b", "Unexpected character '&'"),
        ("a | b", "Unexpected character '|'"),
        ("a + 1", "Unexpected character '+'"),
        ("a - 1", "Unexpected character '-'"),
        ("f(x)", "found '('"),
        ("__import__('os').system('x')", "found '('"),
        ("x if y else z", "found 'if'"),
        ("a and b", "found 'and'"),
        ("1 ==== 1", "Expected a value"),
        ("(" * 100 + "a" + ")" * 100, "nested too deeply"),
        ("!" * 100 + "a", "nested too deeply"),
    ],
)
def test_syntax_errors(expression, fragment):
    message = check_condition_syntax(expression)
    assert message is not None and fragment in message
    with pytest.raises(ConditionError) as caught:
        evaluate_condition(expression, OUTPUT)
    assert str(caught.value) == message


def test_overlong_condition_is_refused():
    expression = " || ".join(["a"] * (MAX_CONDITION_LENGTH // 4 + 1))
    assert "longer than" in (check_condition_syntax(expression) or "")


def test_valid_conditions_have_no_syntax_error():
    for expression in ["status == 'ok'", "a.b[0]['c'] in [1, 'x', null, true]", "!(x)"]:
        assert check_condition_syntax(expression) is None


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("$", ()),
        ("$.a", ("a",)),
        ("a", ("a",)),
        ("a.b.c", ("a", "b", "c")),
        ("items[0].name", ("items", 0, "name")),
        ("items.0.name", ("items", 0, "name")),
        ('$["odd key"].x', ("odd key", "x")),
        ("$.true", ("true",)),
        ("a-b.c_d", ("a-b", "c_d")),
    ],
)
def test_parse_path(text, segments):
    assert parse_path(text) == segments


@pytest.mark.parametrize("text", ["", " ", "a.", "a b", "1", "true", "in", "'a'", "a == b", "$$"])
def test_parse_path_refuses(text):
    with pytest.raises(ConditionError):
        parse_path(text)
