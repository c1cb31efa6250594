"""Reads of the runtime: runs, their steps and timelines, as callers may see them.

``capabilities`` is the caller's visibility: ``None`` sees every run, a set sees only runs
of those capabilities. A run outside it does not exist for that caller (``RUN_NOT_FOUND``,
never a 403), so run ids do not leak across scopes.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import QuerySet

from rawr_site.contract.errors import RawrError
from workflows.ids import is_safe_id
from workflows.models import Run, Step, TimelineEvent


def run_list(*, capabilities: Collection[str] | None = None) -> QuerySet[Run]:
    """Runs visible to the caller, newest first (filters and pagination come on top)."""
    runs = Run.objects.all()
    if capabilities is not None:
        runs = runs.filter(capability__in=list(capabilities))
    return runs.order_by("-created_at", "-id")


def run_get(*, run_id: str, capabilities: Collection[str] | None = None) -> Run:
    """One run, or ``400 INVALID_RUN_ID`` / ``404 RUN_NOT_FOUND`` (also when out of scope)."""
    if not is_safe_id(run_id):
        raise RawrError("INVALID_RUN_ID", 400, "Invalid run id", {"runId": run_id})
    run = run_list(capabilities=capabilities).filter(pk=run_id).first()
    if run is None:
        raise RawrError("RUN_NOT_FOUND", 404, f"Run {run_id} not found", {"runId": run_id})
    return run


def step_list(*, run: Run) -> QuerySet[Step]:
    """The run's steps in the order they first executed."""
    return Step.objects.filter(run=run).order_by("position")


def timeline_list(*, run: Run, after_seq: int | None = None) -> QuerySet[TimelineEvent]:
    """The run's timeline in ``seq`` order; ``after_seq`` tails it from a known event."""
    events = TimelineEvent.objects.filter(run=run)
    if after_seq is not None:
        events = events.filter(seq__gt=after_seq)
    return events.order_by("seq")
