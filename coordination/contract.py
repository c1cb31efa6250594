"""The coordination contract: the original's seven procedures plus ``approveDesk``.

Declared like any capability's, so ``/rpc/coordination/*`` (oRPC RPC wire) and
``/api/orpc/coordination/...`` (published REST + OpenAPI) are both derived from here, with
the original's procedure names, REST routes and error codes.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, WithJsonSchema

from coordination.domain.document import CoordinationWorkflowV1
from rawr_site.contract import Contract, DocumentedAs, ErrorSpec, Schema
from workflows.codes import IDEMPOTENCY_KEY_REUSED, INVALID_RUN_ID, RUN_ID_CONFLICT, RUN_NOT_FOUND
from workflows.ids import SAFE_ID_PATTERN

contract = Contract(
    "coordination",
    title="Coordination",
    description="Desk-graph workflows: store, validate, run durably, observe, approve.",
)

WORKFLOW_NOT_FOUND = ErrorSpec("WORKFLOW_NOT_FOUND", 404, "Workflow not found")
INVALID_WORKFLOW_ID = ErrorSpec("INVALID_WORKFLOW_ID", 400, "Invalid workflow id")
WORKFLOW_VALIDATION_FAILED = ErrorSpec(
    "WORKFLOW_VALIDATION_FAILED", 400, "Workflow validation failed"
)
RUN_QUEUE_FAILED = ErrorSpec("RUN_QUEUE_FAILED", 500, "Run could not be queued")
INVALID_DESK_ID = ErrorSpec("INVALID_DESK_ID", 400, "Invalid desk id")
#: A document or run input over a documented limit (README "Limits"); ``data.limit`` names
#: it, ``data.max`` is its maximum (``coordination.domain.limits``).
WORKFLOW_LIMIT_EXCEEDED = ErrorSpec(
    "WORKFLOW_LIMIT_EXCEEDED", 400, "Workflow document or run input over a documented limit"
)
DESK_NOT_WAITING = ErrorSpec("DESK_NOT_WAITING", 409, "Desk is not waiting for approval")

#: A CoordinationWorkflowV1 document (validated by the service: shape, then semantics;
#: stored exactly as sent). Published as the ``CoordinationWorkflowV1`` schema.
WorkflowDocument = Annotated[dict[str, Any], DocumentedAs(CoordinationWorkflowV1)]
#: Workflow, run and desk ids: the runtime's safe-id rule. Published as a pattern; checked by
#: the operations, so a bad id is the contract's ``INVALID_*_ID`` rather than BAD_REQUEST.
CoordinationId = Annotated[str, WithJsonSchema({"type": "string", "pattern": SAFE_ID_PATTERN})]
RunLifecycleState = Literal["queued", "running", "completed", "failed"]


class Wire(Schema):
    """Coordination payloads omit absent optional fields, as the original's JSON does."""

    wire_omit_none: ClassVar[bool] = True


class WorkflowEnvelope(Wire):
    workflow: WorkflowDocument = Field(description="A CoordinationWorkflowV1 document.")


class WorkflowList(Wire):
    workflows: list[WorkflowDocument]


class WorkflowRef(Wire):
    workflow_id: CoordinationId = Field(description="Workflow id.")


class ValidationErrorV1(Wire):
    code: str
    message: str
    desk_id: str | None = None
    handoff_id: str | None = None


class ValidationResultV1(Wire):
    ok: bool
    errors: list[ValidationErrorV1]


class ValidateResult(Wire):
    workflow_id: str
    validation: ValidationResultV1


class QueueRunInput(Wire):
    workflow_id: CoordinationId
    run_id: CoordinationId | None = Field(
        default=None, description="Caller-chosen run id (idempotent)."
    )
    input: Any = None


class TraceLink(Wire):
    provider: Literal["inngest", "rawr"]
    label: str
    url: str


class WaitingForV1(Wire):
    """What a running run is parked on: a human-wait desk's approval."""

    desk_id: str
    since: str = Field(description="When the desk started waiting (ISO 8601).")
    timeout_at: str | None = Field(
        default=None, description="When the wait times out (absent: never)."
    )


class RunStatusV1(Wire):
    run_id: str
    workflow_id: str
    workflow_version: int
    status: RunLifecycleState
    started_at: str
    finished_at: str | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    trace_links: list[TraceLink]
    waiting_for: WaitingForV1 | None = Field(
        default=None,
        description="Set while the run waits for a person to approve a human-wait desk.",
    )


class QueueRunResult(Wire):
    run: RunStatusV1
    event_ids: list[str]


class RunRef(Wire):
    run_id: CoordinationId


class RunEnvelope(Wire):
    run: RunStatusV1


class DeskRunEventV1(Wire):
    event_id: str
    run_id: str
    workflow_id: str
    desk_id: str | None = None
    type: Literal[
        "run.started",
        "run.completed",
        "run.failed",
        "desk.started",
        "desk.completed",
        "desk.failed",
    ]
    ts: str
    status: RunLifecycleState
    detail: str | None = None
    input: Any = None
    output: Any = None


class RunTimeline(Wire):
    run_id: str
    timeline: list[DeskRunEventV1]


class ApproveDeskInput(Wire):
    run_id: CoordinationId
    desk_id: CoordinationId
    decision: Literal["approve", "reject"]
    payload: Any = None


class ApproveDeskResult(Wire):
    run_id: str
    desk_id: str
    decision: str
    event_id: str


contract.procedure(
    "listWorkflows",
    input=None,
    output=WorkflowList,
    route=("GET", "/coordination/workflows"),
    visibility="external",
    summary="List workflows (latest version of each)",
)
contract.procedure(
    "saveWorkflow",
    input=WorkflowEnvelope,
    output=WorkflowEnvelope,
    route=("POST", "/coordination/workflows"),
    visibility="external",
    summary="Validate and save a workflow as a new version",
    errors=[WORKFLOW_VALIDATION_FAILED, WORKFLOW_LIMIT_EXCEEDED, INVALID_WORKFLOW_ID],
    # Editing what runs is not for every signed-in (MFE) user: the canvas editors hold it.
    permission="coordination.add_workflowversion",
)
contract.procedure(
    "getWorkflow",
    input=WorkflowRef,
    output=WorkflowEnvelope,
    route=("GET", "/coordination/workflows/{workflowId}"),
    visibility="external",
    summary="Get the current version of a workflow",
    errors=[INVALID_WORKFLOW_ID, WORKFLOW_NOT_FOUND],
)
contract.procedure(
    "validateWorkflow",
    input=WorkflowRef,
    output=ValidateResult,
    route=("POST", "/coordination/workflows/{workflowId}/validate"),
    visibility="external",
    summary="Validate the stored workflow",
    errors=[INVALID_WORKFLOW_ID, WORKFLOW_NOT_FOUND, WORKFLOW_LIMIT_EXCEEDED],
)
contract.procedure(
    "queueRun",
    input=QueueRunInput,
    output=QueueRunResult,
    route=("POST", "/coordination/workflows/{workflowId}/run"),
    visibility="external",
    summary="Start a durable run of the workflow's current version",
    description="Idempotent for a caller-supplied runId, and for an `Idempotency-Key` of the "
    "same caller and workflow (24 h; another body with the same key is 422). The run pins the "
    "version it starts with.",
    errors=[
        INVALID_WORKFLOW_ID,
        INVALID_RUN_ID,
        WORKFLOW_NOT_FOUND,
        RUN_ID_CONFLICT,
        IDEMPOTENCY_KEY_REUSED,
        WORKFLOW_LIMIT_EXCEEDED,
        RUN_QUEUE_FAILED,
    ],
)
contract.procedure(
    "getRunStatus",
    input=RunRef,
    output=RunEnvelope,
    route=("GET", "/coordination/runs/{runId}"),
    visibility="external",
    summary="Status of a coordination run",
    errors=[INVALID_RUN_ID, RUN_NOT_FOUND],
)
contract.procedure(
    "getRunTimeline",
    input=RunRef,
    output=RunTimeline,
    route=("GET", "/coordination/runs/{runId}/timeline"),
    visibility="external",
    summary="Timeline of a coordination run (run and desk events)",
    errors=[INVALID_RUN_ID, RUN_NOT_FOUND],
)
contract.procedure(
    "approveDesk",
    input=ApproveDeskInput,
    output=ApproveDeskResult,
    route=("POST", "/coordination/runs/{runId}/desks/{deskId}/approve"),
    visibility="external",
    summary="Approve or reject a human-wait desk that is waiting",
    errors=[INVALID_RUN_ID, INVALID_DESK_ID, RUN_NOT_FOUND, DESK_NOT_WAITING],
    # The same permission the console inbox and /api/approvals/ require; API keys within
    # the coordination scope may still decide (keys have no Django permissions).
    permission="workflows.decide_approval",
)
