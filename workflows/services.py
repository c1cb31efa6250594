"""Writes of the runtime: trigger, events, cancel, retry, replay.

The HTTP surfaces, the admin, the CLI and other apps all call these; each writes its
timeline event naming who acted, in the same transaction as the state change.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from rawr_site.contract.errors import RawrError
from workflows import _enqueue, clock
from workflows._state import Ev, append, locked_run
from workflows._transitions import close_approvals, notify_parent
from workflows._triggers import (
    Triggered,
    checked_input,
    event_send,
    refuse_unstorable,
    trigger,
)
from workflows.codes import (
    APPROVAL_NOT_FOUND,
    APPROVAL_NOT_PENDING,
    INVALID_RUN_ID,
    RUN_NOT_CANCELLABLE,
    RUN_NOT_FOUND,
    RUN_NOT_RETRYABLE,
    RunErrorCode,
)
from workflows.ids import is_safe_id
from workflows.models import (
    ACTIVE_STATUSES,
    Approval,
    ApprovalStatus,
    Run,
    RunStatus,
    Step,
    StepKind,
    StepStatus,
)

DECISIONS = ("approve", "reject")

__all__ = [
    "APPROVAL_NOT_FOUND",
    "APPROVAL_NOT_PENDING",
    "RUN_NOT_FOUND",
    "Triggered",
    "approval_decide",
    "checked_input",
    "event_send",
    "run_cancel",
    "run_replay",
    "run_retry",
    "trigger",
]


def _run_or_404(run_id: str) -> Run:
    if not is_safe_id(run_id):
        raise INVALID_RUN_ID(data={"runId": run_id})
    run = locked_run(run_id)
    if run is None:
        raise RUN_NOT_FOUND(f"Run {run_id} not found", data={"runId": run_id})
    return run


def run_cancel(*, run_id: str, by: str) -> Run:
    """Cancel a queued/sleeping/waiting run now, or a running one at its next step boundary."""
    with transaction.atomic():
        run = _run_or_404(run_id)
        if run.status not in ACTIVE_STATUSES:
            raise RUN_NOT_CANCELLABLE(
                f"Run {run_id} is {run.status} and cannot be cancelled",
                data={"runId": run_id, "status": run.status},
            )
        if run.cancel_requested_at is not None:
            return run
        run.cancel_requested_at = clock.now()
        run.cancelled_by = by
        if run.status == RunStatus.RUNNING:
            append(run, [Ev("run.cancel_requested", payload={"by": by})])
            return run
        run.status = RunStatus.CANCELLED
        run.finished_at = clock.now()
        run.wake_at = None
        closed = close_approvals(run, ApprovalStatus.CANCELLED)
        append(run, [*closed, Ev("run.cancelled", payload={"by": by})])
        Step.objects.filter(run=run, status__in=[StepStatus.WAITING, StepStatus.SLEEPING]).update(
            status=StepStatus.FAILED,
            error={"code": RunErrorCode.RUN_CANCELLED, "message": f"cancelled by {by}"},
        )
        transaction.on_commit(lambda: notify_parent(run_id))
    for child in Run.objects.filter(parent_run_id=run_id, status__in=ACTIVE_STATUSES):
        run_cancel(run_id=child.pk, by=by)
    return run


def run_retry(*, run_id: str, by: str) -> Run:
    """Re-queue a failed run from its failed step; completed steps stay memoized."""
    with transaction.atomic():
        run = _run_or_404(run_id)
        if run.status != RunStatus.FAILED:
            raise RUN_NOT_RETRYABLE(
                f"Only failed runs can be retried; run {run_id} is {run.status}",
                data={"runId": run_id, "status": run.status},
            )
        failed = Step.objects.filter(run=run, status=StepStatus.FAILED)
        reset = list(failed.values_list("step_id", flat=True))
        # A failed invoke/wait/sleep is redone from scratch (a new child run, a new wait);
        # a failed step.run keeps its row (and position) and gets a fresh attempt count.
        failed.filter(
            kind__in=[StepKind.INVOKE, StepKind.WAIT, StepKind.SLEEP, StepKind.APPROVAL]
        ).delete()
        failed.update(status=StepStatus.RUNNING, attempts=0, starts=0, error=None, finished_at=None)
        run.status = RunStatus.QUEUED
        # The retried run gets a fresh clock: its timeout counts from the new start.
        run.started_at = None
        run.error = None
        run.finished_at = None
        run.body_failures = 0
        run.wake_at = None
        run.lease_owner, run.lease_expires_at = "", None
        append(
            run,
            [
                Ev("run.retried", payload={"by": by, "fromSteps": reset}),
                Ev("run.queued", payload={"by": by}),
            ],
        )
        _enqueue.enqueue_on_commit(run)
    return run


def run_replay(*, run_id: str, by: str, input: Any = None, correlation_id: str = "") -> Run:
    """Start a new run of the same function with the same (or an edited) input.

    Always a new run (the function's idempotency key does not apply), linked to the
    original, whose ``run.replayed`` event is written in the same transaction.
    """
    with transaction.atomic():
        original = _run_or_404(run_id)
        replay = trigger(
            original.function_id,
            original.input if input is None else input,
            principal=by,
            correlation_id=correlation_id or original.correlation_id,
            replay_of=original,
            use_idempotency=False,
        ).run
        append(original, [Ev("run.replayed", payload={"by": by, "replayRunId": replay.pk})])
    return replay


def approval_decide(*, approval_id: str, decision: str, payload: Any = None, by: str) -> Approval:
    """Approve or reject a pending approval and wake the run that waits for it.

    One transaction: the approval's decision, the wait step's output (what
    ``step.wait_for_approval`` returns), ``approval.decided`` naming ``by`` in the run's
    timeline, and the run queued again. Locks run, then approval, then step (the engine's
    order), so of two racing decisions exactly one wins and the other is ``409
    APPROVAL_NOT_PENDING``, as is a decision after the wait timed out or the run ended.
    ``400 BAD_REQUEST`` for a decision other than approve/reject or a payload that is not
    JSON; ``404 APPROVAL_NOT_FOUND`` for an unknown id. Nothing changes when it raises.
    """
    if decision not in DECISIONS:
        raise RawrError(
            "BAD_REQUEST", 400, 'decision must be "approve" or "reject"', {"decision": decision}
        )
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise RawrError("BAD_REQUEST", 400, f"payload is not JSON: {exc}") from exc
    refuse_unstorable(payload, "approval payload")
    not_found = APPROVAL_NOT_FOUND(
        f"Approval {approval_id} not found", data={"approvalId": approval_id}
    )
    if not is_safe_id(approval_id):
        raise not_found
    run_id = Approval.objects.filter(pk=approval_id).values_list("run_id", flat=True).first()
    if run_id is None:
        raise not_found
    with transaction.atomic():
        run = locked_run(run_id)
        approval = Approval.objects.select_for_update().filter(pk=approval_id).first()
        if run is None or approval is None:
            raise not_found
        step = (
            Step.objects.select_for_update()
            .filter(
                run=run,
                step_id=approval.step_id,
                kind=StepKind.APPROVAL,
                status=StepStatus.WAITING,
            )
            .first()
        )
        if approval.status != ApprovalStatus.PENDING or step is None or run.is_finished:
            raise APPROVAL_NOT_PENDING(
                f"Approval {approval_id} is {approval.status}, not pending",
                data={"approvalId": approval_id, "status": approval.status, "runId": run.pk},
            )
        now = clock.now()
        approval.status = (
            ApprovalStatus.APPROVED if decision == "approve" else ApprovalStatus.REJECTED
        )
        approval.decision = decision
        approval.payload = payload
        approval.decided_by = by
        approval.decided_at = now
        approval.save(update_fields=["status", "decision", "payload", "decided_by", "decided_at"])
        step.status = StepStatus.COMPLETED
        step.output = {"decision": decision, "payload": payload, "decidedBy": by}
        step.finished_at = now
        step.save(update_fields=["status", "output", "finished_at"])
        events = [
            Ev(
                "approval.decided",
                step.step_id,
                {"approvalId": approval.pk, "decision": decision, "by": by, "payload": payload},
            ),
            Ev("step.completed", step.step_id, {"approvalId": approval.pk, "by": by}),
        ]
        if run.status == RunStatus.WAITING:
            run.status = RunStatus.QUEUED
            run.wake_at = None
            events.append(Ev("run.resumed", step.step_id, {"approvalId": approval.pk}))
            _enqueue.enqueue_on_commit(run)
        append(run, events)
    return approval
