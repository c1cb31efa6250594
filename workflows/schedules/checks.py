"""``manage.py check`` (and every start-up) refuses schedule declarations that are wrong.

Each problem is one error naming the function and the code the API would give for the
same mistake (``INVALID_CRON``, ``INVALID_TIMEZONE``, ``INVALID_MISSED_POLICY``,
``FUNCTION_NOT_FOUND``, ``BAD_REQUEST`` for an input the function refuses).
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from rawr_site.contract.errors import RawrError
from workflows.schedules.declarations import Declaration, declarations
from workflows.schedules.services import MAX_SCHEDULE_ID_CHARS, validate_schedule


def check_declaration(declaration: Declaration) -> RawrError | None:
    """The first thing wrong with a declaration, as the coded error the API would give."""
    try:
        validate_schedule(
            function_id=declaration.function_id,
            cron=declaration.cron,
            timezone=declaration.timezone,
            input=declaration.input,
            missed=declaration.missed,
        )
    except RawrError as exc:
        return exc
    return None


@checks.register("schedules")
def check_declarations(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    for declaration in declarations():
        error = check_declaration(declaration)
        if error is not None:
            problems.append(
                checks.Error(
                    f"Schedule of {declaration.function_id!r}: {error.code}: {error.message}",
                    hint=f"cron={declaration.cron!r}, timezone={declaration.timezone!r}, "
                    f"missed={declaration.missed!r}",
                    obj=declaration.function_id,
                    id="schedules.E001",
                )
            )
        elif len(declaration.schedule_id) > MAX_SCHEDULE_ID_CHARS:
            problems.append(
                checks.Error(
                    f"Schedule of {declaration.function_id!r}: the function id is too long "
                    f"for a schedule id ({MAX_SCHEDULE_ID_CHARS} characters with 'declared.')",
                    obj=declaration.function_id,
                    id="schedules.E002",
                )
            )
    return problems
