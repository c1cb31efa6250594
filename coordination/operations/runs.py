from __future__ import annotations

import logging

from django.db import DatabaseError

from coordination import runs, services
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
from rawr_site.contract import BoundaryContext, RawrError
from workflows import approval_decide, is_safe_id, trigger
from workflows.codes import APPROVAL_NOT_PENDING
from workflows.selectors import approval_pending_for_run

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
    services.run_input_check(run_input=data.input)
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
            # A key is the caller's, for this workflow: another workflow may reuse it.
            idempotency_scope=f"{ctx.principal.label()}|workflow:{data.workflow_id}",
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
    """Decide the approval the run waits for at this desk (``approval_decide``).

    409 ``DESK_NOT_WAITING`` unless the run's pending approval is this desk's, also for the
    loser of two racing decisions (the runtime lets exactly one win).
    """
    run = _run_or_404(data.run_id)
    if not is_safe_id(data.desk_id):
        raise INVALID_DESK_ID(f"Invalid desk id: {data.desk_id!r}", data={"deskId": data.desk_id})
    approval = approval_pending_for_run(run_id=run.pk)
    try:
        if approval is None or approval.desk_id != data.desk_id:
            raise APPROVAL_NOT_PENDING()
        decided = approval_decide(
            approval_id=approval.pk,
            decision=data.decision,
            payload=data.payload,
            by=ctx.principal.label(),
        )
    except RawrError as exc:
        if exc.code != APPROVAL_NOT_PENDING.code:
            raise
        run.refresh_from_db(fields=["status"])
        raise DESK_NOT_WAITING(
            f"Desk {data.desk_id} of run {run.pk} is not waiting for approval",
            data={"runId": run.pk, "deskId": data.desk_id, "runStatus": run.status},
        ) from exc
    event = (
        run.timeline.filter(type="approval.decided", step_id=decided.step_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return ApproveDeskResult(
        run_id=run.pk, desk_id=data.desk_id, decision=data.decision, event_id=f"{run.pk}-{event}"
    )
