"""Writes of coordination: saving workflow versions and desk memory.

Saving never edits a stored version: each save appends the next version number, so a run
that pinned a version keeps reading exactly what it started with.
"""

from __future__ import annotations

import copy
import hashlib
import math
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from coordination.domain.document import check_document_shape, iso_timestamp
from coordination.domain.ids import is_safe_coordination_id
from coordination.domain.limits import (
    WORKFLOW_LIMIT_EXCEEDED_CODE,
    document_limit_problem,
    run_input_limit_problem,
)
from coordination.domain.validation import validate_workflow
from coordination.examples import example_documents
from coordination.models import Desk, DeskMemory, Handoff, WorkflowVersion
from rawr_site.contract.errors import RawrError, bad_request
from workflows.limits import json_limit_problem

__all__ = [
    "example_documents",
    "limits_check",
    "memory_write",
    "run_input_check",
    "workflow_check",
    "workflow_import",
    "workflow_save",
]

#: How often a save retries after losing the race for a version number.
_VERSION_RACE_RETRIES = 5


def limits_check(*, document: Any) -> None:
    """``400 WORKFLOW_LIMIT_EXCEEDED`` (``data.limit``, ``data.max``) for a document over a
    documented limit (``coordination.domain.limits``); bounded work whatever it holds."""
    problem = document_limit_problem(document)
    if problem is not None:
        raise RawrError(WORKFLOW_LIMIT_EXCEEDED_CODE, 400, problem["message"], problem["data"])


def run_input_check(*, run_input: Any) -> None:
    """``400 WORKFLOW_LIMIT_EXCEEDED`` for a run input deeper or larger than the limits."""
    problem = run_input_limit_problem(run_input)
    if problem is not None:
        raise RawrError(WORKFLOW_LIMIT_EXCEEDED_CODE, 400, problem["message"], problem["data"])


def workflow_check(*, document: Any) -> None:
    """Raise what ``workflow_save`` would refuse ``document`` with; store nothing.

    ``400 WORKFLOW_LIMIT_EXCEEDED`` for a document over a documented limit, then
    ``400 BAD_REQUEST`` with ``data.issues`` for a malformed document, then
    ``400 WORKFLOW_VALIDATION_FAILED`` with ``data`` = ``{ok: false, errors: [...]}``.
    """
    limits_check(document=document)
    issues = check_document_shape(document)
    if issues:
        raise bad_request("Workflow document is malformed", issues)
    validation = validate_workflow(document)
    if not validation["ok"]:
        raise RawrError(
            "WORKFLOW_VALIDATION_FAILED", 400, "Workflow validation failed", dict(validation)
        )


def workflow_save(*, document: dict[str, Any], by: str) -> WorkflowVersion:
    """Store ``document`` as the next version of its workflow and return that version.

    Refuses, storing nothing:
    - ``400 WORKFLOW_LIMIT_EXCEEDED`` when the document is over a documented limit;
    - ``400 BAD_REQUEST`` (``data.issues``) when the document is structurally malformed;
    - ``400 WORKFLOW_VALIDATION_FAILED`` (``data`` = the validation result ``{ok, errors}``)
      when ``validate_workflow`` finds errors.

    The stored document is the caller's, unchanged (unknown keys included), except that
    ``version`` is the new version number and ``updatedAt`` the save time. Concurrent saves
    of one workflow get distinct consecutive numbers. Safe inside an outer transaction.
    """
    workflow_check(document=document)
    workflow_id = document["workflowId"]
    for attempt in range(_VERSION_RACE_RETRIES):
        try:
            with transaction.atomic():
                return _append_version(document, workflow_id, by)
        except IntegrityError:
            # Another save took this number between our read and our insert (only where
            # there is no advisory lock): read again.
            if attempt == _VERSION_RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _lock_workflow_id(workflow_id: str) -> None:
    """Serialize saves of one workflow id until the transaction ends (Postgres).

    A row lock cannot do it: the first version has no row to lock, and waiters on the
    latest row would all wake up to the same stale maximum. Elsewhere (SQLite, one writer
    at a time) the unique constraint and the retry in ``workflow_save`` are enough.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"coordination.workflow:{workflow_id}".encode(), digest_size=8)
    key = int.from_bytes(digest.digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _append_version(document: dict[str, Any], workflow_id: str, by: str) -> WorkflowVersion:
    _lock_workflow_id(workflow_id)
    latest = (
        WorkflowVersion.objects.filter(workflow_id=workflow_id)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    version = (latest or 0) + 1
    now = timezone.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as precise as updatedAt
    stored = copy.deepcopy(document)
    stored["version"] = version
    stored["updatedAt"] = iso_timestamp(now)
    row = WorkflowVersion.objects.create(
        workflow_id=workflow_id,
        version=version,
        name=stored["name"],
        entry_desk_id=stored["entryDeskId"],
        document=stored,
        created_at=now,
        created_by=by,
    )
    Desk.objects.bulk_create(
        Desk(
            workflow_version=row,
            desk_id=desk["deskId"],
            kind=desk["kind"],
            name=desk["name"],
            domain=desk["domain"],
            position=position,
        )
        for position, desk in enumerate(stored["desks"])
    )
    Handoff.objects.bulk_create(
        Handoff(
            workflow_version=row,
            handoff_id=handoff["handoffId"],
            from_desk_id=handoff["fromDeskId"],
            to_desk_id=handoff["toDeskId"],
            condition=handoff.get("condition") or "",
            position=position,
        )
        for position, handoff in enumerate(stored["handoffs"])
    )
    return row


def workflow_import(*, document: dict[str, Any], by: str) -> WorkflowVersion:
    """Import a document exported here or by the TypeScript system: exactly a save.

    ``selectors.workflow_export`` of the result equals ``document`` except for ``version``
    and ``updatedAt``.
    """
    return workflow_save(document=document, by=by)


def memory_write(
    *,
    workflow_id: str,
    workflow_version: int,
    desk_id: str,
    key: str,
    data: Any,
    ttl_seconds: int | float | None = None,
) -> DeskMemory:
    """Remember ``data`` under ``key`` for one desk of one workflow version (an upsert).

    A positive ``ttl_seconds`` makes the record expire that long after this write; any
    other value (``None``, ``0``) means no expiry, as in the original. Rewriting a key
    replaces its data and its expiry. Idempotent for the same arguments. ``data`` over the
    stored-value limits (``workflows.limits``) is a 400 ``JSON_TOO_DEEP`` /
    ``JSON_TOO_LARGE`` / ``JSON_NOT_STORABLE``.
    """
    if not is_safe_coordination_id(workflow_id):
        raise RawrError("BAD_REQUEST", 400, f"Invalid workflowId: {workflow_id}")
    if not is_safe_coordination_id(desk_id):
        raise RawrError("BAD_REQUEST", 400, f"Invalid deskId: {desk_id}")
    if not isinstance(key, str) or not key or len(key) > 255:
        raise RawrError("BAD_REQUEST", 400, "Memory key must be 1-255 characters")
    problem = json_limit_problem(data, what=f"desk {desk_id} memory {key}")
    if problem is not None:
        raise RawrError(problem.code, 400, str(problem), problem.data())
    expires_at = None
    is_number = isinstance(ttl_seconds, int | float) and not isinstance(ttl_seconds, bool)
    if is_number and math.isfinite(ttl_seconds) and ttl_seconds > 0:
        expires_at = timezone.now() + timedelta(seconds=ttl_seconds)
    record, _created = DeskMemory.objects.update_or_create(
        workflow_id=workflow_id,
        workflow_version=workflow_version,
        desk_id=desk_id,
        key=key,
        defaults={"data": data, "expires_at": expires_at},
    )
    return record
