"""Handoff ``mappingRefs``: target field <- source path in the upstream output (pure)."""

from __future__ import annotations

import pytest

from coordination.domain.mapping import MappingError, apply_mapping, check_mapping_syntax

UPSTREAM = {
    "status": "ok",
    "ticket": {"id": "T-1", "title": "Fix it"},
    "changes": ["a.py", "b.py"],
    "odd key": 7,
}


@pytest.mark.parametrize("refs", [None, {}])
def test_no_mapping_passes_the_output_through(refs):
    assert apply_mapping(refs, UPSTREAM) is UPSTREAM
    assert apply_mapping(refs, [1, 2]) == [1, 2]
    assert apply_mapping(refs, None) is None


def test_mapping_builds_a_new_object_of_mapped_fields_only():
    payload = apply_mapping(
        {
            "ticket": "$.ticket.id",
            "title": "ticket.title",
            "firstChange": "changes[0]",
            "secondChange": "changes.1",
            "changeCount": "changes.length",
            "odd": '$["odd key"]',
        },
        UPSTREAM,
    )
    assert payload == {
        "ticket": "T-1",
        "title": "Fix it",
        "firstChange": "a.py",
        "secondChange": "b.py",
        "changeCount": 2,
        "odd": 7,
    }
    assert list(payload) == ["ticket", "title", "firstChange", "secondChange", "changeCount", "odd"]


def test_dollar_maps_the_whole_output():
    assert apply_mapping({"previous": "$"}, UPSTREAM) == {"previous": UPSTREAM}


def test_target_names_are_literal():
    assert apply_mapping({"a.b": "status"}, UPSTREAM) == {"a.b": "ok"}


def test_missing_source_gives_null():
    assert apply_mapping({"x": "nope", "y": "ticket.nope.deeper", "z": "changes[9]"}, UPSTREAM) == {
        "x": None,
        "y": None,
        "z": None,
    }


def test_mapped_values_do_not_alias_the_upstream_output():
    payload = apply_mapping({"ticket": "ticket", "all": "$"}, UPSTREAM)
    payload["ticket"]["id"] = "changed"
    payload["all"]["changes"].append("c.py")
    assert UPSTREAM["ticket"]["id"] == "T-1"
    assert UPSTREAM["changes"] == ["a.py", "b.py"]


@pytest.mark.parametrize("path", ["", "a..b", "a[", "a b", "$.", "1"])
def test_bad_source_path(path):
    with pytest.raises(MappingError) as caught:
        apply_mapping({"target": path}, UPSTREAM)
    assert "mappingRefs['target']" in str(caught.value)
    assert check_mapping_syntax({"target": path}) == str(caught.value)


def test_check_mapping_syntax_accepts_good_refs():
    assert check_mapping_syntax(None) is None
    assert check_mapping_syntax({"a": "$.x", "b": "y[0]"}) is None
