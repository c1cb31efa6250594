"""Reads of schedules, scoped like runs: an API key sees its capabilities' schedules."""

from __future__ import annotations

from django.db.models import QuerySet

from workflows import is_safe_id
from workflows.schedules.codes import INVALID_SCHEDULE_ID, SCHEDULE_NOT_FOUND
from workflows.schedules.models import Schedule


def schedule_list(*, capabilities: frozenset[str] | None = None) -> QuerySet[Schedule]:
    rows = Schedule.objects.all()
    if capabilities is not None:
        rows = rows.filter(capability__in=capabilities)
    return rows.order_by("id")


def schedule_get(*, schedule_id: str, capabilities: frozenset[str] | None = None) -> Schedule:
    """One schedule; ``404 SCHEDULE_NOT_FOUND`` also for one outside the caller's scopes."""
    if not is_safe_id(schedule_id):
        raise INVALID_SCHEDULE_ID(
            "A schedule id is letters, digits, '.', '_' and '-'",
            data={"scheduleId": str(schedule_id)[:200]},
        )
    schedule = schedule_list(capabilities=capabilities).filter(pk=schedule_id).first()
    if schedule is None:
        raise SCHEDULE_NOT_FOUND(
            f"Schedule {schedule_id} not found", data={"scheduleId": schedule_id}
        )
    return schedule
