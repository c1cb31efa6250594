"""Writes of schedules: create, pause, resume, delete, and keeping declared ones in step.

The API, the console and the scheduler all call these. Every check runs before anything
is written (a refused request stores nothing); a schedule's function must be registered
and its input must validate against the function's input model, now, not at the first tick.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from rawr_site.contract.errors import RawrError
from workflows import DurableFunction, _registry, clock, is_safe_id
from workflows.schedules.codes import (
    FUNCTION_NOT_FOUND,
    INVALID_SCHEDULE_ID,
    SCHEDULE_DECLARED,
    SCHEDULE_NOT_FOUND,
)
from workflows.schedules.cron import CronSpec, MissedPolicy, parse_cron, parse_missed
from workflows.schedules.declarations import DECLARED_PREFIX, Declaration, declarations
from workflows.schedules.models import Schedule, ScheduleSource
from workflows.services import checked_input

logger = logging.getLogger("workflows.schedules")

#: Longest schedule id: ``schedule:<id>`` must fit a run's 128-character correlation id.
MAX_SCHEDULE_ID_CHARS = 119


@dataclass(frozen=True)
class ValidSchedule:
    function: DurableFunction
    spec: CronSpec
    missed: MissedPolicy
    #: The input as every tick's run will store it (validated by the function's model).
    input: Any


def validate_schedule(
    *,
    function_id: Any,
    cron: Any,
    timezone: Any = "UTC",
    input: Any = None,
    missed: Any = "skip",
    capabilities: frozenset[str] | None = None,
) -> ValidSchedule:
    """Everything a schedule needs, checked; raises the coded 400 for the first problem.

    ``capabilities`` (an API key's scopes) hides functions of other capabilities: for such
    a caller they do not exist (``FUNCTION_NOT_FOUND``).
    """
    spec = parse_cron(cron, timezone)
    policy = parse_missed(missed)
    function = _registry.get_function(function_id) if isinstance(function_id, str) else None
    if function is None or (capabilities is not None and function.capability not in capabilities):
        raise FUNCTION_NOT_FOUND(
            f"No durable function {function_id!r}", data={"functionId": str(function_id)[:200]}
        )
    _parsed, stored = checked_input(function, input)
    return ValidSchedule(function, spec, policy, stored)


def _apply(schedule: Schedule, valid: ValidSchedule) -> None:
    schedule.function_id = valid.function.id
    schedule.capability = valid.function.capability
    schedule.cron = valid.spec.expression
    schedule.timezone = valid.spec.timezone
    schedule.input = valid.input
    schedule.missed_policy = valid.missed.policy
    schedule.catch_up_limit = valid.missed.limit


_DECLARED_FIELDS = (
    "function_id",
    "capability",
    "cron",
    "timezone",
    "input",
    "missed_policy",
    "catch_up_limit",
)


def _declared_fields(source: Schedule | ValidSchedule) -> tuple[Any, ...]:
    if isinstance(source, ValidSchedule):
        row = Schedule()
        _apply(row, source)
        source = row
    return tuple(getattr(source, name) for name in _DECLARED_FIELDS)


def schedule_create(
    *,
    function_id: Any,
    cron: Any,
    timezone: Any = "UTC",
    input: Any = None,
    missed: Any = "skip",
    paused: bool = False,
    by: str,
    capabilities: frozenset[str] | None = None,
) -> Schedule:
    """Store a run-time schedule; its first tick is the next one after now."""
    valid = validate_schedule(
        function_id=function_id,
        cron=cron,
        timezone=timezone,
        input=input,
        missed=missed,
        capabilities=capabilities,
    )
    now = clock.now()
    schedule = Schedule(
        id=f"sch_{uuid.uuid4().hex[:16]}",
        source=ScheduleSource.API,
        created_by=by,
        next_fire_at=valid.spec.next_after(now),
        paused=paused,
        paused_at=now if paused else None,
        paused_by=by if paused else "",
    )
    _apply(schedule, valid)
    schedule.save(force_insert=True)
    logger.info("schedule %s created by %s: %s", schedule.pk, by, schedule)
    return schedule


def _locked(schedule_id: str, capabilities: frozenset[str] | None) -> Schedule:
    if not isinstance(schedule_id, str) or not is_safe_id(schedule_id):
        raise INVALID_SCHEDULE_ID(
            "A schedule id is letters, digits, '.', '_' and '-'",
            data={"scheduleId": str(schedule_id)[:200]},
        )
    rows = Schedule.objects.select_for_update().filter(pk=schedule_id)
    if capabilities is not None:
        rows = rows.filter(capability__in=capabilities)
    schedule = rows.first()
    if schedule is None:
        raise SCHEDULE_NOT_FOUND(
            f"Schedule {schedule_id} not found", data={"scheduleId": schedule_id}
        )
    return schedule


def schedule_pause(
    *, schedule_id: str, by: str, capabilities: frozenset[str] | None = None
) -> Schedule:
    """Stop starting runs; pausing a paused schedule changes nothing."""
    with transaction.atomic():
        schedule = _locked(schedule_id, capabilities)
        if not schedule.paused:
            schedule.paused, schedule.paused_at, schedule.paused_by = True, clock.now(), by
            schedule.save(update_fields=["paused", "paused_at", "paused_by", "updated_at"])
            logger.info("schedule %s paused by %s", schedule.pk, by)
    return schedule


def schedule_resume(
    *, schedule_id: str, by: str, capabilities: frozenset[str] | None = None
) -> Schedule:
    """Start runs again from the next tick after now: ticks while paused never run."""
    with transaction.atomic():
        schedule = _locked(schedule_id, capabilities)
        if schedule.paused:
            spec = parse_cron(schedule.cron, schedule.timezone)
            schedule.paused, schedule.paused_at, schedule.paused_by = False, None, ""
            schedule.next_fire_at = spec.next_after(clock.now())
            schedule.save(
                update_fields=["paused", "paused_at", "paused_by", "next_fire_at", "updated_at"]
            )
            logger.info("schedule %s resumed by %s", schedule.pk, by)
    return schedule


def schedule_delete(
    *, schedule_id: str, by: str, capabilities: frozenset[str] | None = None
) -> None:
    """Delete a run-time schedule (its runs stay); a declared one is ``409``: pause it."""
    with transaction.atomic():
        schedule = _locked(schedule_id, capabilities)
        if schedule.source == ScheduleSource.DECLARED:
            raise SCHEDULE_DECLARED(
                f"Schedule {schedule_id} is declared on {schedule.function_id}; pause it, or "
                "remove the declaration from the code",
                data={"scheduleId": schedule_id},
            )
        schedule.delete()
        logger.info("schedule %s deleted by %s", schedule_id, by)


@dataclass(frozen=True)
class SyncResult:
    created: int = 0
    updated: int = 0
    removed: int = 0
    invalid: int = 0


def schedules_sync_declared(items: Iterable[Declaration] | None = None) -> SyncResult:
    """Make the declared rows match the code: one per valid declaration.

    Safe from any number of processes at once (insert-if-absent, then locked updates of
    the declared fields only, so a pause made meanwhile stays).
    A changed cron, zone, input or policy takes effect from the next tick after now; a row
    whose declaration is gone is removed (its runs stay). Pausing survives all of it.
    Invalid declarations are skipped here: the system check reports them.
    """
    wanted: dict[str, tuple[Declaration, ValidSchedule]] = {}
    invalid: set[str] = set()
    for declaration in declarations() if items is None else items:
        try:
            valid = validate_schedule(
                function_id=declaration.function_id,
                cron=declaration.cron,
                timezone=declaration.timezone,
                input=declaration.input,
                missed=declaration.missed,
            )
        except RawrError as exc:  # the system check refuses it too; never stops the others
            logger.error("schedule declaration of %s refused: %s", declaration.function_id, exc)
            invalid.add(declaration.schedule_id)
            continue
        wanted[declaration.schedule_id] = (declaration, valid)
    now = clock.now()
    created = updated = 0
    # Read without locks: nothing to change is the usual case, and a scheduler pass (which
    # skips locked rows) must not be held up by a sync that changes nothing.
    existing = {row.pk: row for row in Schedule.objects.filter(source=ScheduleSource.DECLARED)}
    for schedule_id, (_declaration, valid) in wanted.items():
        row = existing.get(schedule_id)
        if row is None:
            row = Schedule(
                id=schedule_id,
                source=ScheduleSource.DECLARED,
                created_by="code",
                next_fire_at=valid.spec.next_after(now),
            )
            _apply(row, valid)
            Schedule.objects.bulk_create([row], ignore_conflicts=True)
            created += 1
            continue
        if _declared_fields(row) == _declared_fields(valid):
            continue
        with transaction.atomic():
            locked = Schedule.objects.select_for_update().filter(pk=schedule_id).first()
            if locked is None:
                continue
            moved = (locked.cron, locked.timezone) != (valid.spec.expression, valid.spec.timezone)
            _apply(locked, valid)
            fields = [*_DECLARED_FIELDS, "updated_at"]
            if moved and not locked.paused:  # a paused row gets its next tick on resume
                locked.next_fire_at = valid.spec.next_after(now)
                fields.append("next_fire_at")
            locked.save(update_fields=fields)
            updated += 1
    # An invalid declaration keeps its row (and its pause) until the code is fixed.
    gone = [
        pk
        for pk in existing
        if pk not in wanted and pk not in invalid and pk.startswith(DECLARED_PREFIX)
    ]
    removed = Schedule.objects.filter(pk__in=gone).delete()[0] if gone else 0
    return SyncResult(created, updated, removed, len(invalid))
