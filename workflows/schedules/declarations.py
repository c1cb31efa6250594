"""Schedules declared in code, on the durable function they start.

::

    @durable_function("invoicing.remind", capability="invoicing",
                      cron="*/5 * * * *", timezone="Europe/Berlin", missed=("catch_up", 3))
    def remind(ctx, step): ...

``declare(function_id, cron, ...)`` does the same for a function declared elsewhere.

A declaration is stored as written and checked by the ``schedules`` system checks at
start-up (every mistake reported at once, with its code), not at import: a typo in a cron
string fails ``manage.py check``, the web process and every worker the same way. The
scheduler keeps one ``Schedule`` row per declaration (``declared.<function id>``), so
pausing it in the console survives restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rawr_site.registry import Registry
from workflows import _registry
from workflows.schedules.cron import CronSpec, MissedPolicy, parse_cron, parse_missed

#: Row id of a declared schedule: stable across restarts and deploys.
DECLARED_PREFIX = "declared."


def declared_schedule_id(function_id: str) -> str:
    return f"{DECLARED_PREFIX}{function_id}"


@dataclass(frozen=True)
class Declaration:
    function_id: str
    cron: str
    timezone: str = "UTC"
    input: Any = None
    missed: Any = "skip"

    @property
    def schedule_id(self) -> str:
        return declared_schedule_id(self.function_id)

    def parsed(self) -> tuple[CronSpec, MissedPolicy]:
        """The checked spec and policy; raises the coded ``RawrError`` when wrong."""
        return parse_cron(self.cron, self.timezone), parse_missed(self.missed)


_declarations: Registry[str, Declaration] = Registry(
    "schedule declaration", same=lambda existing, new: existing == new
)


def declare(
    function_id: str,
    cron: str,
    *,
    timezone: str = "UTC",
    input: Any = None,
    missed: Any = "skip",
) -> Declaration:
    """Declare that ``function_id`` runs on ``cron``; duplicates raise (one per function)."""
    return _declarations.register(
        function_id, Declaration(function_id, cron, timezone, input, missed)
    )


def declarations() -> list[Declaration]:
    """Every declaration: ``cron=`` on ``@durable_function``, and ``declare()`` ones."""
    found = {d.function_id: d for d in _declarations.values()}
    for function in _registry.all_functions():
        spec = function.options.cron
        if spec is not None and function.id not in found:
            found[function.id] = Declaration(
                function.id,
                spec.expression,
                spec.timezone,
                spec.input,
                spec.missed,
            )
    return [found[key] for key in sorted(found)]


@contextmanager
def temporarily_declared(declaration: Declaration) -> Iterator[Declaration]:
    """Tests: declare a schedule for the duration of the block."""
    with _declarations.temporarily(declaration.function_id, declaration):
        yield declaration
