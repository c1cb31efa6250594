"""In-process execution for unit tests (``RAWR_WORKFLOWS_DISPATCH = "inline"``).

The same engine runs the runs; only the transport differs: messages are kept in a list in
this process instead of going to the broker. End-to-end tests use a real worker.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

#: (run_id, eta) messages "sent" while dispatch is inline.
pending: list[tuple[str, datetime | None]] = []


def drain(*, max_executions: int = 1000, now: datetime | None = None) -> int:
    """Execute every due pending message (and those they produce). Returns executions."""
    from workflows._engine import execute

    executions = 0
    while executions < max_executions:
        current = now or timezone.now()
        due = [item for item in pending if item[1] is None or item[1] <= current]
        if not due:
            return executions
        item = due[0]
        pending.remove(item)
        execute(item[0], "inline-worker")
        executions += 1
    raise RuntimeError("drain() hit max_executions: a run keeps rescheduling itself")


def clear() -> None:
    pending.clear()
