"""The console's JSON editors refuse what JSON is not, with a message staff can act on."""

from __future__ import annotations

import pytest

from workflows.admin.editors import EditorError, parse_editor_json


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"qty": 2,}', "Malformed JSON: Expecting property name"),
        ("NaN", "NaN is not JSON"),
        ('{"total": -Infinity}', "-Infinity is not JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("1" * 11, "too long (11 characters, at most 10)"),
    ],
)
def test_what_json_is_not_is_refused_with_where_and_why(text: str, message: str) -> None:
    with pytest.raises(EditorError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_editor_json(text, max_chars=10 if message.startswith("too long") else 10**6)


def test_empty_editors_mean_the_given_default_and_json_comes_back_as_is() -> None:
    assert parse_editor_json("  \n", empty={}) == {}
    assert parse_editor_json(None) is None
    assert parse_editor_json('{"qty": 2, "note": "ok"}') == {"qty": 2, "note": "ok"}
