"""Reads of coordination: stored workflow documents and desk memory."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from coordination.domain.document import iso_timestamp
from coordination.models import DeskMemory, WorkflowVersion

__all__ = [
    "latest_versions",
    "memory_read",
    "workflow_export",
    "workflow_get",
    "workflow_history",
    "workflow_list",
    "workflow_version_get",
]


def workflow_version_get(*, workflow_id: str, version: int | None = None) -> WorkflowVersion | None:
    """One stored version (the latest when ``version`` is ``None``), or ``None``."""
    rows = WorkflowVersion.objects.filter(workflow_id=workflow_id)
    if version is not None:
        return rows.filter(version=version).first()
    return rows.order_by("-version").first()


def workflow_get(*, workflow_id: str, version: int | None = None) -> dict[str, Any] | None:
    """The stored document of a version (latest by default), or ``None`` if there is none."""
    row = workflow_version_get(workflow_id=workflow_id, version=version)
    return row.document if row is not None else None


def workflow_export(*, workflow_id: str, version: int | None = None) -> dict[str, Any] | None:
    """The document to hand to another system: exactly what was saved (see ``workflow_get``).

    Importing it elsewhere (here or in the TypeScript system) reproduces the workflow; only
    ``version`` and ``updatedAt`` change on the next save.
    """
    return workflow_get(workflow_id=workflow_id, version=version)


def latest_versions() -> QuerySet[WorkflowVersion]:
    """The current (highest) version row of every workflow, ordered by workflow id."""
    newest = (
        WorkflowVersion.objects.filter(workflow_id=OuterRef("workflow_id"))
        .order_by("-version")
        .values("version")[:1]
    )
    return WorkflowVersion.objects.filter(version=Subquery(newest)).order_by("workflow_id")


def workflow_list() -> list[dict[str, Any]]:
    """The current document of every workflow, ordered by ``workflowId``."""
    return [row.document for row in latest_versions()]


def workflow_history(*, workflow_id: str) -> list[dict[str, Any]]:
    """Every version of a workflow, newest first: ``version, name, createdAt, createdBy``."""
    rows = WorkflowVersion.objects.filter(workflow_id=workflow_id).order_by("-version")
    return [
        {
            "version": row.version,
            "name": row.name,
            "createdAt": iso_timestamp(row.created_at),
            "createdBy": row.created_by,
        }
        for row in rows.only("version", "name", "created_at", "created_by")
    ]


def memory_read(*, workflow_id: str, workflow_version: int, desk_id: str) -> dict[str, Any]:
    """``key -> data`` of a desk's unexpired memory for exactly this workflow version.

    Records written for another version of the workflow are never returned, nor are
    expired ones (they stay in the table until cleaned up).
    """
    records = DeskMemory.objects.filter(
        workflow_id=workflow_id, workflow_version=workflow_version, desk_id=desk_id
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    return {record.key: record.data for record in records.order_by("key")}
