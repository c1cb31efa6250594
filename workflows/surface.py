"""Declaring workflow triggers in a capability's contract.

``workflow_trigger(contract, ...)`` declares a procedure like any other (so it is derived
onto ``/rpc`` and, being on the ``workflows`` surface, published under ``/api/workflows``)
and attaches its handler: validate, create the run, answer ``202 {accepted, runId,
status}``. The first trigger of a capability also declares its run routes
(``GET /<cap>/runs/{runId}`` and ``.../timeline``) and ``POST /<cap>/events``, scoped to
that capability's runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from rawr_site.contract import BoundaryContext, Contract, Procedure, Schema
from rawr_site.contract.procedure import HttpMethod
from workflows.codes import IDEMPOTENCY_KEY_REUSED, INVALID_RUN_ID, RUN_ID_CONFLICT, RUN_NOT_FOUND
from workflows.ids import SafeId
from workflows.models import RunStatus

#: A run's status, published as an enum (``RunStatus``).
RunStatusName = Literal[tuple(RunStatus.values)]  # type: ignore[valid-type]


class TriggerAccepted(Schema):
    accepted: bool
    run_id: str
    status: RunStatusName


class RunRef(Schema):
    run_id: SafeId


class WorkflowRun(Schema):
    run_id: str
    function_id: str
    status: RunStatusName
    input: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    attempt: int
    correlation_id: str
    parent_run_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class WorkflowTimelineEvent(Schema):
    seq: int
    type: str
    step_id: str
    payload: dict[str, Any]
    correlation_id: str
    at: datetime


class WorkflowTimeline(Schema):
    run_id: str
    events: list[WorkflowTimelineEvent]


class SendEventInput(Schema):
    name: str = Field(min_length=1, max_length=200, description="Event name, e.g. order.paid")
    data: dict[str, Any] = Field(default_factory=dict)


class SentEvent(Schema):
    event_id: str
    resumed_run_ids: list[str]


def workflow_trigger(
    contract: Contract,
    name: str,
    *,
    function: str,
    input: type[BaseModel],
    route: tuple[HttpMethod, str],
    summary: str,
    description: str = "",
    visibility: str = "external",
    permission: str | None = None,
) -> Procedure:
    """Declare a trigger procedure for durable function ``function`` (its id).

    ``permission`` is passed to ``Contract.procedure``: enforced and published the same way.
    """
    trigger_input = create_model(
        f"{input.__name__}Trigger",
        __base__=input,
        run_id=(
            SafeId | None,
            Field(default=None, description="Caller-chosen run id (idempotent)"),
        ),
    )
    proc = contract.procedure(
        name,
        input=trigger_input,
        output=TriggerAccepted,
        route=route,
        visibility=visibility,  # type: ignore[arg-type]
        summary=summary,
        description=description
        or "Starts a durable run and answers at once (202). Send `Idempotency-Key` to dedupe.",
        errors=[RUN_ID_CONFLICT, INVALID_RUN_ID, IDEMPOTENCY_KEY_REUSED],
        success_status=202,
        surface="workflows",
        permission=permission,
    )

    @contract.implement(name)
    def start(ctx: BoundaryContext, data: BaseModel) -> TriggerAccepted:
        from workflows.services import trigger

        raw = data.model_dump(mode="json", by_alias=True, exclude={"run_id"})
        result = trigger(
            function,
            raw,
            run_id=getattr(data, "run_id", None),
            idempotency_key=ctx.idempotency_key,
            principal=ctx.principal.label(),
            correlation_id=ctx.correlation_id,
        )
        return TriggerAccepted(accepted=True, run_id=result.run.pk, status=result.run.status)

    if "workflowRun" not in contract:
        _declare_run_routes(contract)
    return proc


def _declare_run_routes(contract: Contract) -> None:
    cap = contract.capability
    contract.procedure(
        "workflowRun",
        input=RunRef,
        output=WorkflowRun,
        route=("GET", f"/{cap}/runs/{{runId}}"),
        visibility="external",
        summary=f"Status of a {cap} run",
        errors=[RUN_NOT_FOUND],
        surface="workflows",
    )
    contract.procedure(
        "workflowRunTimeline",
        input=RunRef,
        output=WorkflowTimeline,
        route=("GET", f"/{cap}/runs/{{runId}}/timeline"),
        visibility="external",
        summary=f"Timeline of a {cap} run",
        errors=[RUN_NOT_FOUND],
        surface="workflows",
    )
    contract.procedure(
        "sendEvent",
        input=SendEventInput,
        output=SentEvent,
        route=("POST", f"/{cap}/events"),
        visibility="external",
        summary=f"Send an event to waiting {cap} runs",
        description="Resumes this capability's runs waiting for the event (step.wait_for_event).",
        surface="workflows",
    )

    def _run(ctx: BoundaryContext, run_id: str):
        from workflows.models import Run

        runs = Run.objects.filter(pk=run_id, capability=cap)
        principal = ctx.principal
        if principal.kind == "user" and not principal.is_staff:
            # A signed-in user (an MFE) sees the runs they started, as in the run watch;
            # API keys are bounded by their capability scopes, staff see every run.
            runs = runs.filter(principal=principal.label())
        run = runs.first()
        if run is None:
            raise RUN_NOT_FOUND(f"Run {run_id} not found", data={"runId": run_id})
        return run

    @contract.implement("workflowRun")
    def workflow_run(ctx: BoundaryContext, data: RunRef) -> WorkflowRun:
        run = _run(ctx, data.run_id)
        error = {k: v for k, v in (run.error or {}).items() if k != "traceback"} or None
        return WorkflowRun(
            run_id=run.pk,
            function_id=run.function_id,
            status=run.status,
            input=run.input,
            output=run.output,
            error=error,
            attempt=run.attempt,
            correlation_id=run.correlation_id,
            parent_run_id=run.parent_run_id,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )

    @contract.implement("workflowRunTimeline")
    def workflow_run_timeline(ctx: BoundaryContext, data: RunRef) -> WorkflowTimeline:
        run = _run(ctx, data.run_id)
        return WorkflowTimeline(
            run_id=run.pk,
            events=[
                WorkflowTimelineEvent(
                    seq=e.seq,
                    type=e.type,
                    step_id=e.step_id,
                    payload=e.payload,
                    correlation_id=e.correlation_id,
                    at=e.created_at,
                )
                for e in run.timeline.order_by("seq")
            ],
        )

    @contract.implement("sendEvent")
    def send_event(ctx: BoundaryContext, data: SendEventInput) -> SentEvent:
        from workflows.services import event_send

        event = event_send(
            name=data.name,
            data=data.data,
            sent_by=ctx.principal.label(),
            correlation_id=ctx.correlation_id,
            capability=cap,
            only_capability=cap,
        )
        return SentEvent(event_id=event.pk, resumed_run_ids=event.resumed_run_ids)
