"""The desk-graph executor: one durable function that runs a pinned workflow version.

Desks run in dependency (topological) order; each desk's phases are steps
``desk/<id>/started``, ``memory-read``, ``execute``, ``memory-write`` (only when the desk's
memory persists) and ``completed``, so a crash resumes at the phase it was in. The run's
timeline carries ``desk.started`` / ``desk.completed`` / ``desk.failed`` with the desk id,
written in the same transaction as the step that caused them.

Bounded work (README, "Limits"): handoff conditions and mappings are evaluated in the
execution under a ``Budget`` (``RAWR_COORDINATION_CONDITION_BUDGET_SECONDS``, default 2 s,
and a number of operations); going over fails the target desk with
``CONDITION_BUDGET_EXCEEDED`` / ``MAPPING_BUDGET_EXCEEDED``, and a cancel requested while
a condition evaluates stops it within a tenth of a second. Every desk input and output is
checked against the stored-value limits (``workflows.limits``): a desk whose output is too
deep or too large fails with ``DESK_OUTPUT_TOO_DEEP`` / ``DESK_OUTPUT_TOO_LARGE`` (a chain
of echo desks that nests each output in the next stops there instead of crashing).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from pydantic import BaseModel, Field

from coordination.runs import EXECUTOR_FUNCTION_ID
from workflows import NonRetriableError, TimelineEntry, durable_function

APPROVE, REJECT = "approve", "reject"


class ExecutorInput(BaseModel):
    workflowId: str
    workflowVersion: int = Field(ge=1)
    input: Any = None


class DeskFailed(NonRetriableError):
    code = "DESK_FAILED"


class _RunCancelled(Exception):
    """A cancel was requested while a condition evaluated: stop at the next boundary."""


#: Default wall-time budget of one desk's handoff conditions and mappings, in seconds.
CONDITION_BUDGET_SECONDS = 2.0
#: ... and its work budget (values compared, list items scanned, paths followed).
CONDITION_BUDGET_OPERATIONS = 2_000_000


def _budget_seconds() -> float:
    return float(
        getattr(settings, "RAWR_COORDINATION_CONDITION_BUDGET_SECONDS", CONDITION_BUDGET_SECONDS)
    )


def _limit_code(prefix: str, limit: str) -> str:
    return {"depth": f"{prefix}_TOO_DEEP", "size": f"{prefix}_TOO_LARGE"}.get(
        limit, f"{prefix}_NOT_STORABLE"
    )


@durable_function(EXECUTOR_FUNCTION_ID, capability="coordination", input=ExecutorInput, retries=0)
def run_workflow(ctx, step) -> Any:
    """Run every desk of the pinned workflow version in dependency order."""
    spec: ExecutorInput = ctx.input
    document = step.run("workflow/load", _load_document, spec.workflowId, spec.workflowVersion)
    from coordination.domain.graph import topological_order
    from workflows.limits import json_limit_problem

    problem = json_limit_problem(spec.input, what="run input")
    if problem is not None:
        raise NonRetriableError(str(problem), code=_limit_code("RUN_INPUT", problem.limit))
    desks = {desk["deskId"]: desk for desk in document["desks"]}
    outputs: dict[str, Any] = {}
    last_output: Any = None
    for desk_id in topological_order(document):
        desk = desks[desk_id]
        try:
            payload, runs = _inbound(document, desk, outputs, spec.input, ctx.run_id)
        except DeskFailed as exc:
            if exc.code != DeskFailed.code:  # a budget: say so on the timeline
                _fail_desk(step, desk_id, str(exc), {"code": exc.code}, code=exc.code)
            raise
        except _RunCancelled:
            # Reaching a step boundary applies the cancel (the run ends as cancelled).
            _fail_desk(step, desk_id, "run cancelled while routing", {"cancelled": True})
        if not runs:
            continue
        problem = json_limit_problem(payload, what=f"desk {desk_id} input")
        if problem is not None:
            code = _limit_code("DESK_INPUT", problem.limit)
            _fail_desk(step, desk_id, str(problem), {"code": code, **problem.data()}, code=code)
        outputs[desk_id] = _run_desk(ctx, step, spec, desk, payload)
        last_output = outputs[desk_id]
    return last_output


def _load_document(workflow_id: str, version: int) -> dict[str, Any]:
    from coordination.selectors import workflow_get

    document = workflow_get(workflow_id=workflow_id, version=version)
    if document is None:
        raise NonRetriableError(
            f"workflow {workflow_id} version {version} does not exist", code="WORKFLOW_NOT_FOUND"
        )
    return document


def _cancel_watch(run_id: str):
    """A budget tick that notices a cancel requested while conditions evaluate."""
    from workflows.models import Run

    def tick() -> None:
        if Run.objects.filter(pk=run_id, cancel_requested_at__isnull=False).exists():
            raise _RunCancelled(run_id)

    return tick


def _inbound(
    document: dict[str, Any],
    desk: dict[str, Any],
    outputs: dict[str, Any],
    run_input: Any,
    run_id: str,
) -> tuple[Any, bool]:
    """(payload, should run): run input for the entry desk; else from the active handoffs.

    Conditions and mappings share one budget per desk (time and operations; see the
    module docstring): over it, the desk fails with ``CONDITION_BUDGET_EXCEEDED`` or
    ``MAPPING_BUDGET_EXCEEDED``.
    """
    from coordination.domain.conditions import (
        Budget,
        BudgetExceeded,
        ConditionError,
        budgeted,
        evaluate_condition,
    )

    desk_id = desk["deskId"]
    if desk_id == document["entryDeskId"]:
        return run_input, True
    seconds = _budget_seconds()
    budget = Budget(seconds, CONDITION_BUDGET_OPERATIONS, tick=_cancel_watch(run_id))
    active = []
    with budgeted(budget):
        for handoff in document["handoffs"]:
            if handoff["toDeskId"] != desk_id or handoff["fromDeskId"] not in outputs:
                continue
            upstream = outputs[handoff["fromDeskId"]]
            try:
                if evaluate_condition(handoff.get("condition"), upstream):
                    active.append((handoff, upstream))
            except ConditionError as exc:
                raise DeskFailed(
                    f"handoff {handoff['handoffId']}: bad condition "
                    f"{handoff.get('condition')!r}: {exc}"
                ) from exc
            except BudgetExceeded as exc:
                raise DeskFailed(
                    f"desk {desk_id}: the condition of handoff {handoff['handoffId']} "
                    f"went over its budget: {exc}",
                    code="CONDITION_BUDGET_EXCEEDED",
                ) from exc
    if not active:
        return None, False
    return _mapped(desk, active), True


def _mapped(desk: dict[str, Any], active: list[tuple[dict[str, Any], Any]]) -> Any:
    from coordination.domain.mapping import MappingError, MappingTooLarge, apply_mapping

    desk_id = desk["deskId"]
    try:
        if desk.get("kind") == "desk:join":
            return {h["fromDeskId"]: apply_mapping(h.get("mappingRefs"), up) for h, up in active}
        handoff, upstream = active[0]
        return apply_mapping(handoff.get("mappingRefs"), upstream)
    except MappingTooLarge as exc:
        raise DeskFailed(
            f"desk {desk_id}: mappingRefs build too much: {exc}", code="MAPPING_BUDGET_EXCEEDED"
        ) from exc
    except MappingError as exc:
        raise DeskFailed(f"desk {desk_id}: bad mappingRefs: {exc}") from exc


def _run_desk(ctx, step, spec: ExecutorInput, desk: dict[str, Any], payload: Any) -> Any:
    desk_id = desk["deskId"]
    scope = desk.get("memoryScope") or {}
    policy = desk.get("runtimePolicy") or {}
    prefix = f"desk/{desk_id}"
    step.record(
        f"{prefix}/started",
        "desk.started",
        {"deskId": desk_id, "kind": desk.get("kind"), "input": payload},
    )
    memory = step.run(
        f"{prefix}/memory-read", _memory_read, spec.workflowId, spec.workflowVersion, desk_id
    )

    if desk.get("kind") == "desk:human-wait":
        output = _human_wait(ctx, step, desk, payload, memory, policy)
    else:

        def failed_event(outcome: str, value: Any) -> TimelineEntry | None:
            if outcome != "failed":
                return None
            return TimelineEntry(
                "desk.failed",
                f"{prefix}/execute",
                {
                    "deskId": desk_id,
                    "detail": value.get("message"),
                    "error": {k: v for k, v in value.items() if k != "traceback"},
                },
            )

        retries = policy.get("retries")
        output = step.run_with(
            f"{prefix}/execute",
            lambda: _execute(ctx.run_id, spec, desk, payload, memory),
            retries=int(retries) if retries is not None else 0,
            events=failed_event,
        )
    if scope.get("persist") is True:
        step.run(
            f"{prefix}/memory-write",
            _memory_write,
            spec.workflowId,
            spec.workflowVersion,
            desk_id,
            scope,
            output,
        )
    step.record(f"{prefix}/completed", "desk.completed", {"deskId": desk_id, "output": output})
    return output


def _human_wait(ctx, step, desk, payload, memory, policy) -> Any:
    """Park on an approval (``step.wait_for_approval``) that the inbox, the approvals API,
    ``approveDesk`` and ``rawr workflow approve`` can decide."""
    desk_id = desk["deskId"]
    timeout = policy.get("timeoutSeconds")
    decided = step.wait_for_approval(
        f"desk/{desk_id}/execute",
        title=str(desk.get("name") or desk_id),
        context=payload,
        timeout=float(timeout) if timeout else None,
        workflow_id=ctx.input.workflowId,
        desk_id=desk_id,
    )
    if decided is None:
        _fail_desk(
            step,
            desk_id,
            f"desk {desk_id} timed out waiting for approval after {timeout}s",
            {"timedOut": True},
        )
    by = decided.get("decidedBy")
    if decided.get("decision") != APPROVE:
        _fail_desk(
            step,
            desk_id,
            f"desk {desk_id} was rejected by {by or 'someone'}",
            {"decision": decided.get("decision"), "by": by, "payload": decided.get("payload")},
        )
    return {
        "deskId": desk_id,
        "status": "approved",
        "kind": desk.get("kind"),
        "decision": decided.get("decision"),
        "approvedBy": by,
        "payload": decided.get("payload"),
        "received": payload,
        "memory": memory,
    }


def _fail_desk(
    step, desk_id: str, message: str, detail: dict[str, Any], *, code: str | None = None
) -> None:
    step.record(
        f"desk/{desk_id}/failed", "desk.failed", {"deskId": desk_id, "detail": message, **detail}
    )
    raise DeskFailed(message, code=code)


def _execute(
    run_id: str, spec: ExecutorInput, desk: dict[str, Any], payload: Any, memory: dict[str, Any]
) -> Any:
    from coordination.desks import DeskCall, handler_for

    handler = handler_for(desk)
    if handler is None:
        return _checked_size(desk, _echo(desk, payload, memory))
    output = handler(
        DeskCall(
            run_id=run_id,
            workflow_id=spec.workflowId,
            workflow_version=spec.workflowVersion,
            desk=desk,
            input=payload,
            memory=memory,
        )
    )
    _checked_size(desk, output)
    _check_output(desk, output)
    return output


def _checked_size(desk: dict[str, Any], output: Any) -> Any:
    """Refuse an output the run may not store (too deep, too large, NUL, NaN)."""
    from workflows.limits import json_limit_problem

    problem = json_limit_problem(output, what=f"desk {desk['deskId']} output")
    if problem is not None:
        raise DeskFailed(str(problem), code=_limit_code("DESK_OUTPUT", problem.limit))
    return output


def _echo(desk: dict[str, Any], payload: Any, memory: dict[str, Any]) -> dict[str, Any]:
    """What the original does for a desk without behaviour (exempt from outputSchema)."""
    if desk.get("kind") == "desk:join":
        return {"deskId": desk["deskId"], "status": "joined", "merged": payload, "memory": memory}
    return {
        "deskId": desk["deskId"],
        "status": "ok",
        "kind": desk.get("kind"),
        "received": payload,
        "memory": memory,
    }


def _check_output(desk: dict[str, Any], output: Any) -> None:
    import jsonschema

    try:
        jsonschema.validate(output, desk.get("outputSchema") or {})
    except jsonschema.ValidationError as exc:
        path = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        raise DeskFailed(
            f"desk {desk['deskId']} output does not match its outputSchema at {path}: {exc.message}"
        ) from exc


def _memory_read(workflow_id: str, version: int, desk_id: str) -> dict[str, Any]:
    from coordination.selectors import memory_read

    return memory_read(workflow_id=workflow_id, workflow_version=version, desk_id=desk_id)


def _memory_write(
    workflow_id: str, version: int, desk_id: str, scope: dict[str, Any], output: Any
) -> dict[str, Any]:
    from coordination.services import memory_write

    key = f"{scope['namespace']}:lastOutput" if scope.get("namespace") else "lastOutput"
    memory_write(
        workflow_id=workflow_id,
        workflow_version=version,
        desk_id=desk_id,
        key=key,
        data=output,
        ttl_seconds=scope.get("ttlSeconds"),
    )
    return {"key": key}
