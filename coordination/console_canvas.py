"""What the canvas (the workflow pages of the console) needs besides drawing.

The canvas edits a ``CoordinationWorkflowV1`` document in the browser and asks the server
three things, each answered here by the same code the API uses, so the console can never
accept what the API refuses (or the reverse):

- ``document_issues``: what ``services.workflow_save`` would refuse the document with, as a
  flat list the canvas can pin on desks and handoffs;
- ``run_input_errors``: whether a run input fits the entry desk's ``inputSchema``;
- ``run_start``: start a run through the coordination contract's ``queueRun`` (the
  ``/api/orpc/coordination/workflows/{id}/run`` procedure), as the staff user.

Plus ``version_diff``: two stored versions side by side.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import jsonschema
from django.http import HttpRequest

from coordination import services
from coordination.client import coordination
from coordination.domain.limits import run_input_limit_problem
from coordination.models import WorkflowVersion
from rawr_site.contract import BoundaryContext, RawrError
from rawr_site.log_context import correlation_id_of
from rawr_site.transports.auth import principal_for_user

__all__ = [
    "document_issues",
    "entry_input_schema",
    "run_input_errors",
    "run_start",
    "version_diff",
]

#: Past this many lines per side the line diff is skipped (the structural diff still shows).
DIFF_MAX_LINES = 4000


def _where(document: Any, path: list[Any]) -> dict[str, str]:
    """The desk or handoff a shape issue's path points into (``["desks", 2, ...]``)."""
    if len(path) < 2 or path[0] not in ("desks", "handoffs") or not isinstance(path[1], int):
        return {}
    items = document.get(path[0]) if isinstance(document, Mapping) else None
    if not isinstance(items, list) or not 0 <= path[1] < len(items):
        return {}
    item = items[path[1]]
    key = "deskId" if path[0] == "desks" else "handoffId"
    if isinstance(item, Mapping) and isinstance(item.get(key), str):
        return {key: item[key]}
    return {}


def document_issues(document: Any) -> list[dict[str, Any]]:
    """Every reason ``workflow_save`` would refuse ``document``; ``[]`` when it would save.

    Each issue is ``{code, message}`` plus ``deskId`` / ``handoffId`` when it concerns one:
    the validator's 14 codes as they are, and structural problems as ``BAD_REQUEST`` with a
    ``path`` (pointed at the desk or handoff the path runs through).
    """
    try:
        services.workflow_check(document=document)
    except RawrError as error:
        data = error.data if isinstance(error.data, dict) else {}
        if error.code == "WORKFLOW_VALIDATION_FAILED":
            return [
                {k: item[k] for k in ("code", "message", "deskId", "handoffId") if k in item}
                for item in data.get("errors", [])
            ]
        if error.code == "BAD_REQUEST" and data.get("issues"):
            out = []
            for issue in data["issues"]:
                path = list(issue.get("path", []))
                where = ".".join(str(part) for part in path) or "document"
                out.append(
                    {
                        "code": "BAD_REQUEST",
                        "message": f"{where}: {issue.get('message', 'invalid')}",
                        "path": path,
                        **_where(document, path),
                    }
                )
            return out
        return [{"code": error.code, "message": error.message}]
    return []


def entry_input_schema(document: Mapping[str, Any]) -> Any:
    """The entry desk's ``inputSchema`` (``{}`` when the entry desk has none)."""
    for desk in document.get("desks") or []:
        if isinstance(desk, Mapping) and desk.get("deskId") == document.get("entryDeskId"):
            return desk.get("inputSchema", {})
    return {}


def run_input_errors(document: Mapping[str, Any], value: Any) -> list[str]:
    """Why ``value`` does not fit the entry desk's ``inputSchema`` (``[]`` when it does).

    Checked before anything is queued, with the JSON Schema draft the schema names
    (``$schema``), the latest draft otherwise.
    """
    over = run_input_limit_problem(value)
    if over is not None:  # before jsonschema walks it: bounded work (README "Limits")
        return [f"WORKFLOW_LIMIT_EXCEEDED: {over['message']}"]
    schema = entry_input_schema(document)
    if not isinstance(schema, dict | bool):
        return ["The entry desk's inputSchema is not a JSON Schema object"]
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [f"The entry desk's inputSchema is not a valid JSON Schema: {exc.message}"]
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(input)'}: {error.message}"
        for error in errors[:20]
    ]


def run_start(*, request: HttpRequest, workflow_id: str, input: Any) -> str:
    """Queue a run of the workflow's current version as the staff user; return its id.

    Goes through the contract's ``queueRun`` (the published ``.../workflows/{id}/run``
    route and ``rawr workflow run`` call the same procedure), so the run is recorded with
    the user as principal and the request's correlation id, and enqueued after commit.
    """
    ctx = BoundaryContext(
        principal=principal_for_user(request.user),
        caller_mode="first-party",
        correlation_id=correlation_id_of(request),
        capability="coordination",
        request=request,
    )
    result = coordination.queueRun({"workflowId": workflow_id, "input": input}, ctx=ctx)
    return result.run.run_id


def _pretty(document: Any) -> list[str]:
    # Sorted keys: the database (jsonb) does not keep the document's key order, and sorted
    # keys line equal parts of two versions up.
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True).splitlines()


def _by_id(items: Any, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get(key), str):
            out.setdefault(item[key], item)
    return out


def _structural(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, str]]:
    """Desks and handoffs added, removed or changed (and which fields), plus top-level keys."""
    rows: list[dict[str, str]] = []
    for key in sorted(set(old) | set(new)):
        if key in ("desks", "handoffs", "version", "updatedAt"):
            continue
        if old.get(key) != new.get(key):
            rows.append({"kind": "workflow", "id": key, "change": "changed"})
    for list_key, id_key, kind in (
        ("desks", "deskId", "desk"),
        ("handoffs", "handoffId", "handoff"),
    ):
        before, after = _by_id(old.get(list_key), id_key), _by_id(new.get(list_key), id_key)
        for item_id in sorted(set(before) | set(after)):
            if item_id not in after:
                rows.append({"kind": kind, "id": item_id, "change": "removed"})
            elif item_id not in before:
                rows.append({"kind": kind, "id": item_id, "change": "added"})
            elif before[item_id] != after[item_id]:
                a, b = before[item_id], after[item_id]
                fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                rows.append(
                    {"kind": kind, "id": item_id, "change": "changed: " + ", ".join(fields)}
                )
    return rows


def version_diff(old: WorkflowVersion, new: WorkflowVersion) -> dict[str, Any]:
    """Two versions side by side: ``{"table": html | None, "changes": [...], "same": bool}``.

    ``table`` is ``difflib.HtmlDiff`` over the pretty JSON (it escapes the text), with
    context lines only; ``None`` when either side is longer than ``DIFF_MAX_LINES``.
    """
    old_doc = old.document if isinstance(old.document, Mapping) else {}
    new_doc = new.document if isinstance(new.document, Mapping) else {}
    left, right = _pretty(old.document), _pretty(new.document)
    table = None
    if max(len(left), len(right)) <= DIFF_MAX_LINES:
        table = difflib.HtmlDiff(tabsize=2, wrapcolumn=70).make_table(
            left,
            right,
            fromdesc=f"version {old.version}",
            todesc=f"version {new.version}",
            context=True,
            numlines=3,
        )
    return {"table": table, "changes": _structural(old_doc, new_doc), "same": left == right}
