"""Coordination runs as the original's API shows them, read from the durable runtime.

A coordination run *is* a runtime ``Run`` of the ``coordination.run`` function; this
module maps its status and timeline onto ``RunStatusV1`` / ``DeskRunEventV1``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import quote
from django.urls import reverse

from coordination.contract import DeskRunEventV1, RunStatusV1, TraceLink, WaitingForV1
from coordination.domain.document import iso_timestamp
from workflows import ACTIVE_STATUSES, Run, RunStatus
from workflows.limits import EVENT_JSON, RUN_JSON, api_view, first_safely, load_safely
from workflows.selectors import approval_pending_for_run, run_list, timeline_list

EXECUTOR_FUNCTION_ID = "coordination.run"

_LIFECYCLE = {
    RunStatus.QUEUED: "queued",
    RunStatus.RUNNING: "running",
    RunStatus.SLEEPING: "running",
    RunStatus.WAITING: "running",
    RunStatus.COMPLETED: "completed",
    RunStatus.FAILED: "failed",
    RunStatus.CANCELLED: "failed",
}

#: Runtime timeline types the original's timeline shows, and the run state each implies.
_TIMELINE_TYPES = {
    "run.started": "running",
    "desk.started": "running",
    "desk.completed": "running",
    "desk.failed": "failed",
    "run.completed": "completed",
    "run.failed": "failed",
}


def _iso(value) -> str | None:
    return None if value is None else iso_timestamp(value)


def coordination_run(run_id: str) -> Run | None:
    """The run, its stored values read safely (``workflows.limits.load_safely``)."""
    return first_safely(run_list().filter(pk=run_id, function_id=EXECUTOR_FUNCTION_ID), *RUN_JSON)


def _text(value: Any) -> str | None:
    """A stored value shown where the API promises a string (or nothing)."""
    if value is None or isinstance(value, str):
        return value
    return str(api_view(value))[:2000]


def _version(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def trace_links(run: Run, request: Any = None) -> list[TraceLink]:
    admin_url = reverse("admin:workflows_run_change", args=[quote(run.pk)])
    timeline_url = f"/api/orpc/coordination/runs/{run.pk}/timeline"
    if request is not None:
        admin_url = request.build_absolute_uri(admin_url)
        timeline_url = request.build_absolute_uri(timeline_url)
    return [
        TraceLink(provider="rawr", label="Run in the coordination console", url=admin_url),
        TraceLink(provider="rawr", label="Run timeline", url=timeline_url),
    ]


def run_status(run: Run, request: Any = None) -> RunStatusV1:
    # Stored values are shown as they are when within the limits, cut when not: no stored
    # value can make this answer fail.
    spec = run.input if isinstance(run.input, dict) else {}
    error = None
    if run.status == RunStatus.CANCELLED:
        error = f"cancelled by {run.cancelled_by or 'an operator'}"
    elif isinstance(run.error, dict):
        error = _text(run.error.get("message") or run.error.get("code"))
    elif run.error:
        error = _text(run.error)
    return RunStatusV1(
        run_id=run.pk,
        workflow_id=_text(spec.get("workflowId")) or "",
        workflow_version=_version(spec.get("workflowVersion", 0)),
        status=_LIFECYCLE[run.status],
        started_at=_iso(run.started_at or run.created_at),
        finished_at=_iso(run.finished_at),
        input=api_view(spec.get("input")),
        output=api_view(run.output) if run.status == RunStatus.COMPLETED else None,
        error=error,
        trace_links=trace_links(run, request),
        waiting_for=waiting_for(run),
    )


def waiting_for(run: Run) -> WaitingForV1 | None:
    """The desk whose approval an active run waits for, or ``None`` (the status stays
    ``running``: the original's four states are kept, this says why it is not moving)."""
    if run.status not in ACTIVE_STATUSES:
        return None
    approval = approval_pending_for_run(run_id=run.pk)
    if approval is None or not approval.desk_id:
        return None
    return WaitingForV1(
        desk_id=approval.desk_id,
        since=_iso(approval.created_at),
        timeout_at=_iso(approval.timeout_at),
    )


def run_timeline(run: Run) -> list[DeskRunEventV1]:
    spec = run.input if isinstance(run.input, dict) else {}
    workflow_id = _text(spec.get("workflowId")) or ""
    events = load_safely(timeline_list(run=run, types=_TIMELINE_TYPES), *EVENT_JSON)
    out = []
    for event in events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        detail = payload.get("detail")
        if detail is None and isinstance(payload.get("error"), dict):
            detail = payload["error"].get("message")
        out.append(
            DeskRunEventV1(
                event_id=f"{run.pk}-{event.seq}",
                run_id=run.pk,
                workflow_id=workflow_id,
                desk_id=_text(payload.get("deskId")),
                type=event.type,
                ts=_iso(event.created_at),
                status=_TIMELINE_TYPES[event.type],
                detail=_text(detail),
                input=api_view(payload.get("input")),
                output=api_view(payload.get("output")),
            )
        )
    return out
