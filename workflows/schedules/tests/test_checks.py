"""Declarations are checked at start-up (``manage.py check``): every mistake is one error
with the code the API gives for it; a valid declaration passes."""

from __future__ import annotations

import pytest
from django.core import checks

from workflows import durable_function, temporarily_registered
from workflows.schedules.checks import check_declarations
from workflows.schedules.declarations import Declaration, declarations, temporarily_declared


def _errors() -> list[str]:
    return [f"{m.id} {m.msg}" for m in check_declarations() if m.level >= checks.ERROR]


def test_a_valid_declaration_passes(functions):
    with temporarily_declared(
        Declaration(
            "t.sched.report", "0 9 * * 1-5", "Europe/Berlin", {"team": "ops"}, ("catch_up", 2)
        )
    ):
        assert _errors() == []


@pytest.mark.parametrize(
    ("declaration", "code"),
    [
        (Declaration("t.sched.ping", "61 * * * *"), "INVALID_CRON"),
        (Declaration("t.sched.ping", "* * * * *", "Europe/Bxl"), "INVALID_TIMEZONE"),
        (Declaration("t.sched.ping", "* * * * *", missed=("catch_up", 0)), "INVALID_MISSED_POLICY"),
        (Declaration("t.sched.ping", "* * * * *", missed="whenever"), "INVALID_MISSED_POLICY"),
        (Declaration("t.sched.gone", "* * * * *"), "FUNCTION_NOT_FOUND"),
        (Declaration("t.sched.report", "* * * * *", input={"team": 3}), "BAD_REQUEST"),
    ],
)
def test_a_wrong_declaration_fails_the_check_with_its_code(functions, declaration, code):
    with temporarily_declared(declaration):
        (error,) = _errors()
    assert error.startswith(f"schedules.E001 Schedule of {declaration.function_id!r}: {code}:")


def test_the_check_is_registered_with_django(functions):
    with temporarily_declared(Declaration("t.sched.ping", "nope")):
        found = [m.id for m in checks.run_checks(tags=["schedules"])]
    assert found == ["schedules.E001"]


def test_cron_on_durable_function_is_a_declaration():
    @durable_function(
        "t.sched.native",
        cron="0 9 * * 1-5",
        timezone="Europe/Berlin",
        cron_input={"a": 1},
        missed=("catch_up", 2),
    )
    def native(ctx, step):
        return None

    with temporarily_registered(native):
        (found,) = [d for d in declarations() if d.function_id == "t.sched.native"]
        assert (found.cron, found.timezone, found.input, found.missed) == (
            "0 9 * * 1-5",
            "Europe/Berlin",
            {"a": 1},
            ("catch_up", 2),
        )
        assert _errors() == []

    @durable_function("t.sched.native_bad", cron="0 25 * * *", timezone="Europe/Berlin")
    def bad(ctx, step):
        return None

    with temporarily_registered(bad):
        (error,) = _errors()
    assert "INVALID_CRON" in error
