"""The only place that changes a run's state: always with its timeline rows, atomically."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from workflows.models import Run, TimelineEvent
from workflows.timeline import Ev

#: Set when the run is created and never changed: not rewritten on every state change
#: (``input`` can be large).
_IMMUTABLE = {
    "id",
    "function_id",
    "capability",
    "input",
    "idempotency_key",
    "idempotency_scope",
    "input_fingerprint",
    "concurrency_key",
    "throttle_key",
    "rate_limit_key",
    "debounce_key",
    "principal",
    "correlation_id",
    "parent_run",
    "parent_step_id",
    "replay_of",
    "priority",
    "queue",
    "created_at",
}
_MUTABLE_FIELDS: list[str] | None = None


def _mutable_fields() -> list[str]:
    global _MUTABLE_FIELDS
    if _MUTABLE_FIELDS is None:
        _MUTABLE_FIELDS = [f.name for f in Run._meta.concrete_fields if f.name not in _IMMUTABLE]
    return _MUTABLE_FIELDS


def locked_run(run_id: str) -> Run | None:
    """The run row, locked until the surrounding transaction ends (Postgres FOR UPDATE)."""
    return Run.objects.select_for_update().filter(pk=run_id).first()


def append(run: Run, events: Iterable[Ev]) -> list[TimelineEvent]:
    """Append events with strictly increasing ``seq``. ``run`` must be locked by the caller.

    Saves ``run`` (its ``next_seq`` and whatever else the caller changed on it).
    """
    rows = []
    for event in events:
        rows.append(
            TimelineEvent(
                run=run,
                seq=run.next_seq,
                type=event.type,
                step_id=event.step_id,
                payload=event.payload,
                correlation_id=run.correlation_id,
                **({"created_at": event.at} if event.at is not None else {}),
            )
        )
        run.next_seq += 1
    TimelineEvent.objects.bulk_create(rows)
    run.save(update_fields=_mutable_fields())
    return rows


def change(
    run_id: str, *events: Ev, expect: Iterable[str] | None = None, **fields: Any
) -> Run | None:
    """Lock the run, check its status is in ``expect``, set ``fields``, append ``events``.

    Returns the updated run, or ``None`` when the run is missing or in another status.
    """
    with transaction.atomic():
        run = locked_run(run_id)
        if run is None or (expect is not None and run.status not in set(expect)):
            return None
        for name, value in fields.items():
            setattr(run, name, value)
        append(run, events)
        return run
