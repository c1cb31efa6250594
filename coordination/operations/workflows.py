from __future__ import annotations

from coordination import selectors, services
from coordination.contract import (
    INVALID_WORKFLOW_ID,
    WORKFLOW_NOT_FOUND,
    ValidateResult,
    WorkflowEnvelope,
    WorkflowList,
    WorkflowRef,
    contract,
)
from coordination.domain.validation import validate_workflow
from rawr_site.contract import BoundaryContext, RawrError
from workflows import is_safe_id


def checked_workflow_id(workflow_id: str) -> str:
    if not is_safe_id(workflow_id):
        raise INVALID_WORKFLOW_ID(
            f"Invalid workflow id: {workflow_id!r}", data={"workflowId": workflow_id}
        )
    return workflow_id


def stored_document(workflow_id: str) -> dict:
    document = selectors.workflow_get(workflow_id=checked_workflow_id(workflow_id))
    if document is None:
        raise WORKFLOW_NOT_FOUND(
            f"Workflow {workflow_id} not found", data={"workflowId": workflow_id}
        )
    return document


@contract.implement("listWorkflows")
def list_workflows(ctx: BoundaryContext, data: None) -> WorkflowList:
    return WorkflowList(workflows=selectors.workflow_list())


@contract.implement("saveWorkflow")
def save_workflow(ctx: BoundaryContext, data: WorkflowEnvelope) -> WorkflowEnvelope:
    try:
        saved = services.workflow_save(document=data.workflow, by=ctx.principal.label())
    except RawrError as error:
        # Issue paths start at the procedure's input ({workflow}), as the original's do.
        if error.code == "BAD_REQUEST" and isinstance(error.data, dict):
            for issue in error.data.get("issues", []):
                issue["path"] = ["workflow", *issue.get("path", [])]
        raise
    return WorkflowEnvelope(workflow=saved.document)


@contract.implement("getWorkflow")
def get_workflow(ctx: BoundaryContext, data: WorkflowRef) -> WorkflowEnvelope:
    return WorkflowEnvelope(workflow=stored_document(data.workflow_id))


@contract.implement("validateWorkflow")
def validate_stored_workflow(ctx: BoundaryContext, data: WorkflowRef) -> ValidateResult:
    document = stored_document(data.workflow_id)
    # A version stored before the limits existed is refused, not validated at any cost.
    services.limits_check(document=document)
    return ValidateResult(workflow_id=data.workflow_id, validation=validate_workflow(document))
