"""Reads of the runtime: runs, their steps and timelines, as callers may see them.

``capabilities`` is the caller's visibility: ``None`` sees every run, a set sees only runs
of those capabilities. A run outside it does not exist for that caller (``RUN_NOT_FOUND``,
never a 403), so run ids do not leak across scopes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from django.db.models import DateTimeField, QuerySet, Value
from django.db.models.functions import Coalesce

from workflows.codes import INVALID_RUN_ID, RUN_NOT_FOUND
from workflows.ids import is_safe_id
from workflows.models import Approval, ApprovalStatus, Run, Step, TimelineEvent

#: Where approvals without a timeout sort: after every real due time.
NO_DUE_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def run_list(*, capabilities: Collection[str] | None = None) -> QuerySet[Run]:
    """Runs visible to the caller, newest first (filters and pagination come on top)."""
    runs = Run.objects.all()
    if capabilities is not None:
        runs = runs.filter(capability__in=list(capabilities))
    return runs.order_by("-created_at", "-id")


def run_get(*, run_id: str, capabilities: Collection[str] | None = None) -> Run:
    """One run, or ``400 INVALID_RUN_ID`` / ``404 RUN_NOT_FOUND`` (also when out of scope)."""
    if not is_safe_id(run_id):
        raise INVALID_RUN_ID(data={"runId": run_id})
    run = run_list(capabilities=capabilities).filter(pk=run_id).first()
    if run is None:
        raise RUN_NOT_FOUND(f"Run {run_id} not found", data={"runId": run_id})
    return run


def step_list(*, run: Run) -> QuerySet[Step]:
    """The run's steps in the order they first executed."""
    return Step.objects.filter(run=run).order_by("position")


def step_statuses(*, run_id: str, prefix: str = "") -> dict[str, str]:
    """``step_id`` -> status of the run's steps whose id starts with ``prefix`` (one query).

    What another app needs to draw progress (coordination's desk states) without loading
    step outputs.
    """
    rows = Step.objects.filter(run_id=run_id, step_id__startswith=prefix).values_list(
        "step_id", "status"
    )
    return dict(rows)


def timeline_list(
    *, run: Run, after_seq: int | None = None, types: Collection[str] | None = None
) -> QuerySet[TimelineEvent]:
    """The run's timeline in ``seq`` order; ``after_seq`` tails it from a known event,
    ``types`` keeps only those event types."""
    events = TimelineEvent.objects.filter(run=run)
    if after_seq is not None:
        events = events.filter(seq__gt=after_seq)
    if types is not None:
        events = events.filter(type__in=list(types))
    return events.order_by("seq")


def approvals_pending(*, capabilities: Collection[str] | None = None) -> QuerySet[Approval]:
    """Pending approvals the caller may see, soonest due first.

    Scoped like ``run_list`` (by the run's capability). Ordered by ``due_at`` (the
    timeout, or ``NO_DUE_TIME`` for none: nulls last on every database), then
    ``created_at``, then id, so the order is total and keyset-pageable.
    """
    approvals = Approval.objects.filter(status=ApprovalStatus.PENDING)
    if capabilities is not None:
        approvals = approvals.filter(run__capability__in=list(capabilities))
    return approvals.annotate(
        due_at=Coalesce("timeout_at", Value(NO_DUE_TIME, output_field=DateTimeField()))
    ).order_by("due_at", "created_at", "id")


def approval_pending_for_run(*, run_id: str) -> Approval | None:
    """The approval a run waits for now (the oldest pending one), or ``None``; its
    ``context`` / ``payload`` are read safely (``workflows.limits.first_safely``)."""
    from workflows.limits import APPROVAL_JSON, first_safely

    return first_safely(
        Approval.objects.filter(run_id=run_id, status=ApprovalStatus.PENDING).order_by(
            "created_at", "id"
        ),
        *APPROVAL_JSON,
    )
