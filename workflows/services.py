"""Writes of the runtime: trigger, events, cancel, retry, replay.

The HTTP surfaces, the admin, the CLI and other apps all call these; each writes its
timeline event naming who acted, in the same transaction as the state change.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from rawr_site.contract.errors import RawrError, bad_request
from rawr_site.contract.procedure import validation_issues
from workflows import _enqueue, _registry
from workflows._engine import _close_approvals, _notify_parent
from workflows._state import Ev, append, locked_run
from workflows.ids import is_safe_id, new_run_id
from workflows.models import (
    ACTIVE_STATUSES,
    Approval,
    ApprovalStatus,
    Event,
    Run,
    RunStatus,
    Step,
    StepKind,
    StepStatus,
)

RUN_NOT_FOUND = "RUN_NOT_FOUND"
APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND"
APPROVAL_NOT_PENDING = "APPROVAL_NOT_PENDING"
DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class Triggered:
    run: Run
    created: bool


def _function_or_404(function_id: str) -> _registry.DurableFunction:
    function = _registry.get_function(function_id)
    if function is None:
        raise RawrError(
            "FUNCTION_NOT_FOUND",
            404,
            f"No durable function {function_id!r}",
            {"functionId": function_id},
        )
    return function


def trigger(
    function_id: str,
    input: Any = None,
    *,
    run_id: str | None = None,
    idempotency_key: str | None = None,
    principal: str = "system",
    correlation_id: str = "",
    parent_run: Run | None = None,
    parent_step_id: str = "",
    replay_of: Run | None = None,
    use_idempotency: bool = True,
) -> Triggered:
    """Create a queued run (+ ``run.queued``) in one transaction; enqueue after commit.

    Idempotent: the same ``run_id`` or the same idempotency key (explicit, or computed by
    the function's ``idempotency_key``) returns the existing run and enqueues nothing.
    A ``run_id`` already used by another function is ``409 RUN_ID_CONFLICT``.
    ``use_idempotency=False`` (replays) always creates a new run.
    """
    function = _function_or_404(function_id)
    if run_id is not None and not is_safe_id(run_id):
        raise RawrError(
            "INVALID_RUN_ID",
            400,
            "runId must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
            {"runId": run_id},
        )
    try:
        parsed = function.parse_input(input)
    except ValidationError as exc:
        raise bad_request("Input validation failed", validation_issues(exc)) from exc
    stored_input = (
        parsed.model_dump(mode="json", by_alias=True) if hasattr(parsed, "model_dump") else parsed
    )
    options = function.options
    if not use_idempotency:
        idempotency_key = None
    elif idempotency_key is None and options.idempotency_key is not None:
        idempotency_key = str(options.idempotency_key(parsed))
    if idempotency_key is not None and (not idempotency_key or len(idempotency_key) > 255):
        raise RawrError("BAD_REQUEST", 400, "Idempotency-Key must be 1-255 characters")
    concurrency_key = (
        str(options.concurrency_key(parsed)) if options.concurrency_key is not None else ""
    )

    existing = _existing(function, run_id, idempotency_key)
    if existing is not None:
        return Triggered(existing, created=False)
    try:
        with transaction.atomic():
            run = Run.objects.create(
                id=run_id or new_run_id(),
                function_id=function.id,
                capability=function.capability,
                input=stored_input,
                idempotency_key=idempotency_key or "",
                concurrency_key=concurrency_key,
                principal=principal,
                correlation_id=correlation_id,
                parent_run=parent_run,
                parent_step_id=parent_step_id,
                replay_of=replay_of,
                priority=options.priority,
                queue=options.queue,
            )
            append(
                run,
                [
                    Ev(
                        "run.queued",
                        payload={
                            "functionId": function.id,
                            "by": principal,
                            **({"parentRunId": parent_run.pk} if parent_run else {}),
                            **({"replayOf": replay_of.pk} if replay_of else {}),
                        },
                    )
                ],
            )
            _enqueue.enqueue_on_commit(run)
    except IntegrityError:
        # A concurrent trigger with the same run id / key won the race: answer with its run.
        existing = _existing(function, run_id, idempotency_key)
        if existing is None:
            raise
        return Triggered(existing, created=False)
    return Triggered(run, created=True)


def _existing(
    function: _registry.DurableFunction, run_id: str | None, key: str | None
) -> Run | None:
    if run_id is not None:
        run = Run.objects.filter(pk=run_id).first()
        if run is not None:
            if run.function_id != function.id:
                raise RawrError(
                    "RUN_ID_CONFLICT",
                    409,
                    f"Run {run_id} already exists for another function",
                    {"runId": run_id, "functionId": run.function_id},
                )
            return run
    if key is not None:
        return Run.objects.filter(function_id=function.id, idempotency_key=key).first()
    return None


def _matches(match: dict[str, Any] | None, data: dict[str, Any]) -> bool:
    for path, expected in (match or {}).items():
        node: Any = data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        if node != expected:
            return False
    return True


def event_send(
    *,
    name: str,
    data: dict[str, Any] | None = None,
    sent_by: str = "system",
    correlation_id: str = "",
    capability: str = "",
    only_capability: str | None = None,
) -> Event:
    """Store an event and resume every run waiting for it (matching ``match``).

    ``only_capability`` limits which runs it may resume: an event posted to one
    capability's HTTP route never wakes another capability's runs.
    """
    if not name or len(name) > 200:
        raise RawrError("BAD_REQUEST", 400, "Event name must be 1-200 characters")
    data = data or {}
    with transaction.atomic():
        event = Event.objects.create(
            id=f"evt_{uuid.uuid4().hex}",
            name=name,
            data=data,
            sent_by=sent_by,
            correlation_id=correlation_id,
            capability=capability,
        )
        resumed: list[str] = []
        candidates = Step.objects.filter(
            status=StepStatus.WAITING, wait_event=name, kind=StepKind.WAIT
        ).order_by("run_id", "position")
        if only_capability is not None:
            candidates = candidates.filter(run__capability=only_capability)
        for candidate in list(candidates):
            if not _matches(candidate.wait_match, data):
                continue
            # Lock run, then step (the engine's order), and re-check the step is waiting.
            run = locked_run(candidate.run_id)
            step = (
                Step.objects.select_for_update()
                .filter(pk=candidate.pk, status=StepStatus.WAITING)
                .first()
            )
            if run is None or step is None or run.is_finished:
                continue
            step.status = StepStatus.COMPLETED
            step.output = {"id": event.id, "name": name, "data": data}
            step.finished_at = timezone.now()
            step.save(update_fields=["status", "output", "finished_at"])
            events = [Ev("step.completed", step.step_id, {"eventId": event.id, "by": sent_by})]
            if run.status == RunStatus.WAITING:
                run.status = RunStatus.QUEUED
                run.wake_at = None
                events.append(Ev("run.resumed", step.step_id, {"eventId": event.id}))
                _enqueue.enqueue_on_commit(run)
            append(run, events)
            resumed.append(run.pk)
        event.resumed_run_ids = resumed
        event.save(update_fields=["resumed_run_ids"])
    return event


def _run_or_404(run_id: str) -> Run:
    if not is_safe_id(run_id):
        raise RawrError("INVALID_RUN_ID", 400, "Invalid run id", {"runId": run_id})
    run = locked_run(run_id)
    if run is None:
        raise RawrError(RUN_NOT_FOUND, 404, f"Run {run_id} not found", {"runId": run_id})
    return run


def run_cancel(*, run_id: str, by: str) -> Run:
    """Cancel a queued/sleeping/waiting run now, or a running one at its next step boundary."""
    with transaction.atomic():
        run = _run_or_404(run_id)
        if run.status not in ACTIVE_STATUSES:
            raise RawrError(
                "RUN_NOT_CANCELLABLE",
                409,
                f"Run {run_id} is {run.status} and cannot be cancelled",
                {"runId": run_id, "status": run.status},
            )
        if run.cancel_requested_at is not None:
            return run
        run.cancel_requested_at = timezone.now()
        run.cancelled_by = by
        if run.status == RunStatus.RUNNING:
            append(run, [Ev("run.cancel_requested", payload={"by": by})])
            return run
        run.status = RunStatus.CANCELLED
        run.finished_at = timezone.now()
        run.wake_at = None
        closed = _close_approvals(run, ApprovalStatus.CANCELLED)
        append(run, [*closed, Ev("run.cancelled", payload={"by": by})])
        Step.objects.filter(run=run, status__in=[StepStatus.WAITING, StepStatus.SLEEPING]).update(
            status=StepStatus.FAILED,
            error={"code": "RUN_CANCELLED", "message": f"cancelled by {by}"},
        )
        transaction.on_commit(lambda: _notify_parent(run_id))
    for child in Run.objects.filter(parent_run_id=run_id, status__in=ACTIVE_STATUSES):
        run_cancel(run_id=child.pk, by=by)
    return run


def run_retry(*, run_id: str, by: str) -> Run:
    """Re-queue a failed run from its failed step; completed steps stay memoized."""
    with transaction.atomic():
        run = _run_or_404(run_id)
        if run.status != RunStatus.FAILED:
            raise RawrError(
                "RUN_NOT_RETRYABLE",
                409,
                f"Only failed runs can be retried; run {run_id} is {run.status}",
                {"runId": run_id, "status": run.status},
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
    except (TypeError, ValueError) as exc:
        raise RawrError("BAD_REQUEST", 400, f"payload is not JSON: {exc}") from exc
    not_found = RawrError(
        APPROVAL_NOT_FOUND, 404, f"Approval {approval_id} not found", {"approvalId": approval_id}
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
            raise RawrError(
                APPROVAL_NOT_PENDING,
                409,
                f"Approval {approval_id} is {approval.status}, not pending",
                {"approvalId": approval_id, "status": approval.status, "runId": run.pk},
            )
        now = timezone.now()
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
