"""Single-statement writes of the hot path, for PostgreSQL.

Each function here is one SQL statement (data-modifying CTEs), so one round trip and one
implicit transaction: the run row's ``UPDATE … RETURNING`` hands out the timeline ``seq``
and carries the ownership check (lease owner, status, no cancel requested) in its
``WHERE``; the step and timeline rows are written only if that update matched. When it did
not (lease lost, cancel requested, run gone) the function returns ``None`` and the caller
takes the locking path in ``_steps``/``_engine``, which finds out why and records it.

SQLite (the embedded default of ``make run``) has no data-modifying CTEs; ``available()``
is false there and the callers use the ORM path for everything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from workflows import _registry
from workflows.models import Run, Step, TimelineEvent
from workflows.timeline import Ev

RUN = Run._meta.db_table
STEP = Step._meta.db_table
TIMELINE = TimelineEvent._meta.db_table
_RUN_FIELDS = list(Run._meta.concrete_fields)
_RUN_COLUMNS = ", ".join(f"w.{connection.ops.quote_name(f.column)}" for f in _RUN_FIELDS)


def available() -> bool:
    return connection.vendor == "postgresql"


def _events_values(events: Sequence[Ev], params: list[Any]) -> str:
    """``(VALUES (0, type, step_id, payload), …)`` rows for ``events``; appends params."""
    rows = []
    for i, event in enumerate(events):
        rows.append("(%s, %s, %s, %s::jsonb, %s::timestamptz)")
        params.extend([i, event.type, event.step_id, json.dumps(event.payload), event.at])
    return ", ".join(rows)


def _timeline_insert(
    source: str, seq: str, events: Sequence[Ev], now: datetime, *, join: str = ""
) -> tuple[str, list[Any]]:
    """``INSERT`` of ``events`` for the run in CTE ``source`` numbered from ``seq``
    (``join``: another CTE to evaluate with it, e.g. a lock)."""
    params: list[Any] = [now]  # COALESCE(v.at, %s) comes before the VALUES rows
    values = _events_values(events, params)
    sql = (
        f"INSERT INTO {TIMELINE} (run_id, seq, type, step_id, payload, correlation_id, "
        f"created_at) SELECT {source}.id, {source}.{seq} + v.i, v.type, v.step_id, v.payload, "
        f"{source}.correlation_id, COALESCE(v.at, %s) FROM {source}{join}, (VALUES {values}) "
        "AS v(i, type, step_id, payload, at)"
    )
    return sql, params


def _run_from_row(row: Sequence[Any]) -> Run:
    values = []
    for field, value in zip(_RUN_FIELDS, row, strict=False):
        if value is not None and hasattr(field, "from_db_value"):
            value = field.from_db_value(value, None, connection)
        values.append(value)
    return Run.from_db(connection.alias, [f.attname for f in _RUN_FIELDS], values)


_STEP_FIELDS = list(Step._meta.concrete_fields)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _step_from_json(item: dict[str, Any]) -> Step:
    """A ``Step`` from its ``row_to_json`` form (JSON columns nested, times as ISO text)."""
    values = []
    for field in _STEP_FIELDS:
        value = item.get(field.column)
        if value is not None and field.get_internal_type() == "DateTimeField":
            value = datetime.fromisoformat(value)
        values.append(value)
    return Step.from_db(connection.alias, [f.attname for f in _STEP_FIELDS], values)


# -- trigger ----------------------------------------------------------------------------
def insert_run(run: Run, queued: Ev) -> bool:
    """Insert ``run`` and its ``run.queued`` row (seq 1). False: a unique key already exists
    (same id, or same idempotency key for the function): nothing was written."""
    run.next_seq = 2
    columns, values = [], []
    for field in _RUN_FIELDS:
        columns.append(connection.ops.quote_name(field.column))
        values.append(field.get_db_prep_save(field.pre_save(run, True), connection))
    placeholders = ", ".join(["%s"] * len(values))
    timeline, params = _timeline_insert("r", "seq0", [queued], run.created_at, join=", l")
    # ``l``: the run's advisory lock, held until this statement commits, so a worker that
    # got the message first can wait for the commit instead of polling (``claim``).
    sql = (
        f"WITH r AS (INSERT INTO {RUN} ({', '.join(columns)}) VALUES ({placeholders}) "
        "ON CONFLICT DO NOTHING RETURNING id, 1 AS seq0, correlation_id), "
        "l AS (SELECT pg_advisory_xact_lock(hashtext(%s)) AS locked), "
        f"t AS ({timeline}) SELECT id FROM r"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, _run_lock(run.pk), *params])
        inserted = cursor.fetchone() is not None
    run._state.adding = not inserted
    run._state.db = connection.alias
    return inserted


# -- claim ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """``run`` is ``None`` when it was not claimed; ``limited`` then says the caller must
    try the locking claim (the function has a concurrency limit)."""

    run: Run | None
    previous_status: str
    limited: bool = False
    #: No such run: not committed yet (the trigger sends before it commits) or never.
    missing: bool = False
    #: The run's recorded steps (the memo), loaded by the claim itself.
    steps: list[Step] | None = None


def _run_lock(run_id: str) -> str:
    return f"rawr-run:{run_id}"


def wait_for_insert(run_id: str) -> None:
    """Wait until a trigger that is inserting ``run_id`` has committed (or returns at once
    when none is). Inside the caller's transaction; the next statement sees the row."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_run_lock(run_id)])


def claim(
    run_id: str, worker: str, now: datetime, lease_until: datetime, *, after_insert: bool = False
) -> Claimed:
    """Take the lease on a due run and write ``run.started``/``run.resumed``: one statement.

    Runs of functions with a concurrency limit are not claimed here (``None``); the caller
    claims those under the per-key advisory lock.
    """
    limited = _registry.limited_function_ids()
    timeline_params = [now]
    sql = (
        "WITH old AS (SELECT id, status, started_at, function_id FROM "
        f"{RUN} WHERE id = %s FOR UPDATE), "
        f"r AS (UPDATE {RUN} AS w SET status = 'running', lease_owner = %s, "
        "lease_expires_at = %s, attempt = w.attempt + 1, wake_at = NULL, waiting_reason = '', "
        "started_at = COALESCE(w.started_at, %s), next_seq = w.next_seq + 1, updated_at = %s, "
        "interruptions = w.interruptions + (CASE WHEN old.status = 'running' THEN 1 ELSE 0 END) "
        "FROM old WHERE w.id = old.id AND NOT (w.function_id = ANY(%s)) AND ("
        "(old.status = 'queued' AND (w.wake_at IS NULL OR w.wake_at <= %s)) "
        "OR (old.status IN ('sleeping', 'waiting') AND w.wake_at <= %s) "
        "OR (old.status = 'running' AND (w.lease_expires_at IS NULL OR w.lease_expires_at < %s))"
        f") RETURNING {_RUN_COLUMNS}, old.status AS previous, old.started_at AS first_start), "
        f"t AS (INSERT INTO {TIMELINE} (run_id, seq, type, step_id, payload, correlation_id, "
        "created_at) SELECT r.id, r.next_seq - 1, "
        "CASE WHEN r.first_start IS NULL THEN 'run.started' ELSE 'run.resumed' END, '', "
        "CASE WHEN r.first_start IS NULL "
        "THEN jsonb_build_object('worker', r.lease_owner, 'attempt', r.attempt) "
        "ELSE jsonb_build_object('worker', r.lease_owner, 'attempt', r.attempt, "
        "'from', r.previous) END, r.correlation_id, %s FROM r) "
        # The memo in the same round trip: every recorded step of the run, in order.
        f"SELECT old.function_id, (SELECT COALESCE(json_agg(s ORDER BY s.position), '[]') "
        f"FROM {STEP} AS s WHERE s.run_id = r.id), r.* FROM old LEFT JOIN r ON true"
    )
    params = [run_id, worker, lease_until, now, now, list(limited), now, now, now]
    # The claim need not wait for the disk: if a crash loses it, the run is simply still
    # due and is claimed again (steps are at-least-once anyway), and any later
    # synchronous commit (a step's outcome) flushes it first. That wait was most of the
    # time between a run's message and its first step.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        if after_insert:
            wait_for_insert(run_id)
        cursor.execute(sql, [*params, *timeline_params])
        row = cursor.fetchone()
    if row is None:
        return Claimed(None, "", missing=True)  # no such run (yet: see _triggers._insert)
    function_id, steps, row = row[0], row[1], row[2:]
    if row[0] is None:  # not claimed: not due, someone holds it, or its function is limited
        return Claimed(None, "", limited=function_id in limited)
    return Claimed(
        _run_from_row(row),
        previous_status=row[len(_RUN_FIELDS)],
        steps=[_step_from_json(item) for item in _json(steps)],
    )


# -- steps ------------------------------------------------------------------------------
_LEASED = "id = %s AND lease_owner = %s AND status = 'running'"
_OWNED = f"{_LEASED} AND cancel_requested_at IS NULL"


def complete_step(
    *,
    run_id: str,
    worker: str,
    now: datetime,
    step: Step,
    output_json: str,
    events: Sequence[Ev],
) -> tuple[int, bool] | None:
    """Write a finished step (upsert), its timeline rows and the run's bookkeeping at once.

    Resets the run's ``interruptions`` (the run made progress). Returns the step's primary
    key and whether a cancel has been requested (the caller applies it before the next
    step), or ``None`` when the run is not this worker's to write (nothing was written).
    """
    # Only columns no index covers change here (not the lease: the keeper renews it), so
    # Postgres can update the run row in place (HOT) instead of touching its ~20 indexes.
    params: list[Any] = [len(events), now, run_id, worker, len(events)]
    timeline, timeline_params = _timeline_insert("r", "seq0", events, now)
    sql = (
        f"WITH r AS (UPDATE {RUN} SET next_seq = next_seq + %s, "
        f"updated_at = %s, interruptions = 0 WHERE {_LEASED} "
        "RETURNING id, next_seq - %s AS seq0, correlation_id, "
        "cancel_requested_at IS NOT NULL AS cancelling), "
        f"s AS (INSERT INTO {STEP} (run_id, step_id, position, kind, status, output, error, "
        "attempts, starts, wait_event, wait_match, wake_at, child_run_id, started_at, "
        "finished_at) SELECT r.id, %s, %s, %s, 'completed', %s::jsonb, NULL, %s, %s, '', "
        "NULL, NULL, NULL, %s, %s FROM r ON CONFLICT (run_id, step_id) DO UPDATE SET "
        "status = 'completed', output = EXCLUDED.output, error = NULL, "
        "attempts = EXCLUDED.attempts, starts = EXCLUDED.starts, "
        f"started_at = COALESCE({STEP}.started_at, EXCLUDED.started_at), "
        "finished_at = EXCLUDED.finished_at RETURNING id), "
        f"t AS ({timeline}) SELECT (SELECT id FROM s), cancelling FROM r"
    )
    params += [
        step.step_id,
        step.position,
        step.kind,
        output_json,
        step.attempts,
        step.starts,
        step.started_at,
        now,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *timeline_params])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def record_running_step(
    *, run_id: str, worker: str, lease_until: datetime, now: datetime, step: Step, event: Ev
) -> bool:
    """A step outlived the record threshold: write it as ``running`` with ``step.started``
    (the console's "running step X") and renew the lease. False: not this worker's run."""
    timeline, timeline_params = _timeline_insert("r", "seq0", [event], now)
    sql = (
        f"WITH r AS (UPDATE {RUN} SET next_seq = next_seq + 1, lease_expires_at = %s "
        f"WHERE {_OWNED} RETURNING id, next_seq - 1 AS seq0, correlation_id), "
        f"s AS (INSERT INTO {STEP} (run_id, step_id, position, kind, status, output, error, "
        "attempts, starts, wait_event, wait_match, wake_at, child_run_id, started_at, "
        "finished_at) SELECT r.id, %s, %s, %s, 'running', NULL, NULL, %s, %s, '', NULL, NULL, "
        "NULL, %s, NULL FROM r ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'running', "
        f"starts = EXCLUDED.starts, started_at = COALESCE({STEP}.started_at, "
        "EXCLUDED.started_at), finished_at = NULL RETURNING id), "
        f"t AS ({timeline}) SELECT (SELECT id FROM s) FROM r"
    )
    params = [
        lease_until,
        run_id,
        worker,
        step.step_id,
        step.position,
        step.kind,
        step.attempts,
        step.starts,
        step.started_at,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *timeline_params])
        row = cursor.fetchone()
    if row is not None:
        step.pk = row[0]
        step._state.adding = False
    return row is not None


def renew_lease(run_id: str, worker: str, lease_until: datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RUN} SET lease_expires_at = %s WHERE id = %s AND lease_owner = %s "
            "AND status = 'running'",
            [lease_until, run_id, worker],
        )
        return cursor.rowcount > 0


# -- finishing --------------------------------------------------------------------------
def complete_run(*, run_id: str, worker: str, now: datetime, output: Any) -> str | bool:
    """Mark the run completed with ``run.completed``. Returns the parent run id (or ``""``)
    when written, ``False`` when the run is not this worker's (nothing written)."""
    sql = (
        f"WITH r AS (UPDATE {RUN} SET status = 'completed', output = %s::jsonb, error = NULL, "
        "finished_at = %s, lease_owner = '', lease_expires_at = NULL, wake_at = NULL, "
        "next_seq = next_seq + 1, updated_at = %s, interruptions = 0 "
        "WHERE id = %s AND lease_owner = %s AND status = 'running' "
        "RETURNING id, next_seq - 1 AS seq0, correlation_id, attempt, parent_run_id), "
        f"t AS (INSERT INTO {TIMELINE} (run_id, seq, type, step_id, payload, correlation_id, "
        "created_at) SELECT r.id, r.seq0, 'run.completed', '', "
        "jsonb_build_object('attempt', r.attempt), r.correlation_id, %s FROM r) "
        "SELECT COALESCE(parent_run_id, '') FROM r"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(output), now, now, run_id, worker, now])
        row = cursor.fetchone()
    return False if row is None else row[0]
