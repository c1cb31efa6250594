"""Run transitions shared by the step API, execution and the public services.

Below ``_steps``/``_engine``/``services`` and above ``_state``/``_enqueue``: failing a
run, settling a parent when its child ends, and opening/closing approvals. Each helper
works on a run the caller has locked, inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from workflows import _enqueue, clock
from workflows._state import Ev, append, locked_run
from workflows.codes import RunErrorCode
from workflows.models import Approval, ApprovalStatus, Run, RunStatus, Step, StepStatus


def fail_run(run: Run, error: dict[str, Any], events: list[Ev]) -> None:
    """Mark a locked run failed (with its events) and tell a waiting parent after commit."""
    run.status = RunStatus.FAILED
    run.error = error
    run.finished_at = clock.now()
    run.lease_owner, run.lease_expires_at = "", None
    run.wake_at = None
    append(
        run,
        [
            *events,
            *close_approvals(run, ApprovalStatus.EXPIRED),
            Ev("run.failed", error.get("stepId", ""), {"error": public_error(error)}),
        ],
    )
    run_id = run.pk
    transaction.on_commit(lambda: notify_parent(run_id))


def queue_retry(run: Run, delay: float, events: list[Ev]) -> None:
    """Put a locked run back in the queue to be executed again in ``delay`` seconds (a
    step's or the body's retry), with its events; sent when the transaction commits."""
    run.status = RunStatus.QUEUED
    run.wake_at = clock.now() + timedelta(seconds=delay)
    run.lease_owner, run.lease_expires_at = "", None
    append(run, events)
    _enqueue.enqueue_on_commit(run, eta=run.wake_at)


def cancel_running(run: Run, *, at_step_boundary: bool) -> None:
    """Apply a requested cancel to a locked running run (with its events).

    At a step boundary (the executing worker noticed) or by the sweeper when no execution
    reached one in time (``at_step_boundary=False``): a step still running then is marked
    failed, and the executing worker finds the run no longer running at its next write.
    """
    run.status = RunStatus.CANCELLED
    run.finished_at = clock.now()
    run.lease_owner, run.lease_expires_at = "", None
    run.wake_at = None
    if not at_step_boundary:
        Step.objects.filter(run=run, status=StepStatus.RUNNING).update(
            status=StepStatus.FAILED,
            finished_at=run.finished_at,
            error={
                "code": RunErrorCode.RUN_CANCELLED,
                "message": f"cancelled by {run.cancelled_by}",
            },
        )
    append(
        run,
        [
            *close_approvals(run, ApprovalStatus.CANCELLED),
            Ev(
                "run.cancelled",
                payload={"by": run.cancelled_by, "atStepBoundary": at_step_boundary},
            ),
        ],
    )
    run_id = run.pk
    transaction.on_commit(lambda: notify_parent(run_id))


def notify_parent(child_id: str) -> None:
    """A child finished: settle the parent's invoke step and wake the parent."""
    child = Run.objects.filter(pk=child_id).only("parent_run_id", "parent_step_id").first()
    if child is None or child.parent_run_id is None:
        return
    with transaction.atomic():
        parent = locked_run(child.parent_run_id)
        child = Run.objects.get(pk=child_id)
        step = (
            Step.objects.select_for_update()
            .filter(
                run_id=child.parent_run_id, step_id=child.parent_step_id, status=StepStatus.WAITING
            )
            .first()
        )
        if parent is None or step is None or not child.is_finished:
            return
        now = clock.now()
        if child.status == RunStatus.COMPLETED:
            step.status, step.output = StepStatus.COMPLETED, child.output
            event = Ev("step.completed", step.step_id, {"childRunId": child.pk})
        else:
            step.status = StepStatus.FAILED
            step.error = {
                "code": RunErrorCode.CHILD_RUN_FAILED,
                "childRunId": child.pk,
                "message": f"child run {child.pk} {child.status}: "
                f"{(child.error or {}).get('message', '')}".strip(),
            }
            event = Ev(
                "step.failed",
                step.step_id,
                {"childRunId": child.pk, "error": public_error(step.error)},
            )
        step.finished_at = now
        step.save(update_fields=["status", "output", "error", "finished_at"])
        if parent.status == RunStatus.WAITING:
            parent.status = RunStatus.QUEUED
            parent.wake_at = None
            append(parent, [event, Ev("run.resumed", step.step_id, {"by": "child"})])
            _enqueue.enqueue_on_commit(parent)
        else:
            append(parent, [event])


def create_approval(
    run: Run, step_id: str, timeout_at: datetime | None, request: dict[str, Any]
) -> Approval:
    return Approval.objects.create(
        id=f"apr_{uuid.uuid4().hex}", run=run, step_id=step_id, timeout_at=timeout_at, **request
    )


def pending_approval(run: Run, step_id: str) -> Approval | None:
    return Approval.objects.filter(run=run, step_id=step_id, status=ApprovalStatus.PENDING).first()


def close_approvals(run: Run, status: str, *, step_id: str | None = None) -> list[Ev]:
    """Close a locked run's pending approvals (the run ended, or the wait timed out).

    Returns one ``approval.<status>`` timeline event per approval, for the caller to
    append in its transaction; a closed approval can no longer be decided (409).
    """
    pending = Approval.objects.select_for_update().filter(run=run, status=ApprovalStatus.PENDING)
    if step_id is not None:
        pending = pending.filter(step_id=step_id)
    closed = list(pending.only("id", "step_id"))
    if not closed:
        return []
    Approval.objects.filter(pk__in=[a.pk for a in closed]).update(status=status)
    return [Ev(f"approval.{status}", a.step_id, {"approvalId": a.pk}) for a in closed]


def public_error(error: dict[str, Any] | None) -> dict[str, Any]:
    """The error as timelines and APIs show it (no traceback)."""
    return {k: v for k, v in (error or {}).items() if k != "traceback"}
