from __future__ import annotations

import logging

from django.db import DatabaseError, transaction

from coordination import runs
from coordination.contract import (
    DESK_NOT_WAITING,
    INVALID_DESK_ID,
    INVALID_RUN_ID,
    RUN_ID_CONFLICT,
    RUN_NOT_FOUND,
    RUN_QUEUE_FAILED,
    ApproveDeskInput,
    ApproveDeskResult,
    QueueRunInput,
    QueueRunResult,
    RunEnvelope,
    RunRef,
    RunTimeline,
    contract,
)
from coordination.operations.workflows import stored_document
from rawr_site.contract import BoundaryContext
from workflows import event_send, is_safe_id, trigger
from workflows._state import locked_run
from workflows.models import Step, StepStatus

logger = logging.getLogger(__name__)


def _run_or_404(run_id: str):
    if not is_safe_id(run_id):
        raise INVALID_RUN_ID(f"Invalid run id: {run_id!r}", data={"runId": run_id})
    run = runs.coordination_run(run_id)
    if run is None:
        raise RUN_NOT_FOUND(f"Run {run_id} not found", data={"runId": run_id})
    return run


@contract.implement("queueRun")
def queue_run(ctx: BoundaryContext, data: QueueRunInput) -> QueueRunResult:
    if data.run_id is not None and not is_safe_id(data.run_id):
        raise INVALID_RUN_ID(f"Invalid run id: {data.run_id!r}", data={"runId": data.run_id})
    document = stored_document(data.workflow_id)
    if data.run_id is not None:
        existing = runs.coordination_run(data.run_id)
        if existing is not None and (existing.input or {}).get("workflowId") != data.workflow_id:
            raise RUN_ID_CONFLICT(
                f"Run {data.run_id} belongs to another workflow",
                data={"runId": data.run_id, "workflowId": existing.input.get("workflowId")},
            )
    try:
        triggered = trigger(
            runs.EXECUTOR_FUNCTION_ID,
            {
                "workflowId": data.workflow_id,
                "workflowVersion": document["version"],
                "input": data.input,
            },
            run_id=data.run_id,
            idempotency_key=ctx.idempotency_key,
            principal=ctx.principal.label(),
            correlation_id=ctx.correlation_id,
        )
    except DatabaseError as exc:
        logger.exception("could not record coordination run")
        raise RUN_QUEUE_FAILED("The run could not be recorded") from exc
    run = triggered.run
    queued = run.timeline.filter(type="run.queued").order_by("seq").first()
    event_ids = [f"{run.pk}-{queued.seq}"] if queued is not None else []
    return QueueRunResult(run=runs.run_status(run, ctx.request), event_ids=event_ids)


@contract.implement("getRunStatus")
def get_run_status(ctx: BoundaryContext, data: RunRef) -> RunEnvelope:
    return RunEnvelope(run=runs.run_status(_run_or_404(data.run_id), ctx.request))


@contract.implement("getRunTimeline")
def get_run_timeline(ctx: BoundaryContext, data: RunRef) -> RunTimeline:
    run = _run_or_404(data.run_id)
    return RunTimeline(run_id=run.pk, timeline=runs.run_timeline(run))


@contract.implement("approveDesk")
def approve_desk(ctx: BoundaryContext, data: ApproveDeskInput) -> ApproveDeskResult:
    run = _run_or_404(data.run_id)
    if not is_safe_id(data.desk_id):
        raise INVALID_DESK_ID(f"Invalid desk id: {data.desk_id!r}", data={"deskId": data.desk_id})
    with transaction.atomic():
        # Lock run, then the desk's wait step (the runtime's order): of two racing
        # approvals exactly one finds the desk waiting; the other gets 409.
        locked_run(run.pk)
        waiting = (
            Step.objects.select_for_update()
            .filter(run=run, step_id=f"desk/{data.desk_id}/execute", status=StepStatus.WAITING)
            .exists()
        )
        if not waiting:
            raise DESK_NOT_WAITING(
                f"Desk {data.desk_id} of run {run.pk} is not waiting for approval",
                data={"runId": run.pk, "deskId": data.desk_id, "runStatus": run.status},
            )
        event = event_send(
            name=runs.APPROVAL_EVENT,
            data={
                "runId": run.pk,
                "deskId": data.desk_id,
                "decision": data.decision,
                "payload": data.payload,
                "by": ctx.principal.label(),
            },
            sent_by=ctx.principal.label(),
            correlation_id=ctx.correlation_id,
            capability="coordination",
            only_capability="coordination",
        )
    return ApproveDeskResult(
        run_id=run.pk, desk_id=data.desk_id, decision=data.decision, event_id=event.pk
    )
