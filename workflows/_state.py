"""The only place that changes a run's state: always with its timeline rows, atomically."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from workflows.models import Run, TimelineEvent
from workflows.timeline import Ev


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
            )
        )
        run.next_seq += 1
    TimelineEvent.objects.bulk_create(rows)
    run.save()
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
