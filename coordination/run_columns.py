"""The run list's "workflow id" column and ``?workflow_id=`` filter for coordination runs.

A coordination run is a ``Run`` of ``coordination.run`` whose input holds ``workflowId``.
``workflows`` knows nothing of coordination, so this registers the column and filter with
the run list's subject registry; ``CoordinationConfig.ready()`` imports it once.

The filter compares ``input ->> 'workflowId'`` (text, via ``KT``), which is exactly the
expression of the partial index ``coord_run_workflow_created`` (migration 0002) on
PostgreSQL; a JSON ``input__workflowId`` lookup would compare ``->`` jsonb and miss it.
SQLite compares with a JSON key lookup (``json_extract``, a scan of coordination runs).
"""

from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet
from django.db.models.fields.json import KT

from coordination.runs import EXECUTOR_FUNCTION_ID
from workflows.admin.run_list import register_run_subject
from workflows.models import Run


def workflow_id(run: Run) -> str:
    spec = run.input
    value = spec.get("workflowId") if isinstance(spec, dict) else None
    return value if isinstance(value, str) else ""


def runs_of_workflow(queryset: QuerySet[Run], value: str) -> QuerySet[Run]:
    runs = queryset.filter(function_id=EXECUTOR_FUNCTION_ID)
    if connections[queryset.db].vendor == "postgresql":
        return runs.alias(coordination_workflow_id=KT("input__workflowId")).filter(
            coordination_workflow_id=value
        )
    # Elsewhere ``KT() = 'x'`` reads 'x' as JSON (SQLite: "malformed JSON"); a key lookup
    # compares JSON with JSON.
    return runs.filter(input__workflowId=value)


WORKFLOW_ID = register_run_subject(
    EXECUTOR_FUNCTION_ID,
    parameter="workflow_id",
    title="workflow id",
    value=workflow_id,
    filter=runs_of_workflow,
)
