"""In-process execution for tests (``RAWR_WORKFLOWS_DISPATCH = "inline"``).

The same engine runs the runs; only the transport differs: messages are kept in a list in
this process (``workflows._inline``) instead of going to the broker. End-to-end tests use
a real worker. ``inline_dispatch`` is the one pytest fixture that switches a test to it;
it is registered for the whole suite by the root ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import ModuleType

import pytest

from workflows import clock as runtime_clock
from workflows._inline import clear, pending

__all__ = ["clear", "clock", "drain", "inline_dispatch", "pending"]


def drain(*, max_executions: int = 1000, now: datetime | None = None) -> int:
    """Execute every due pending message (and those they produce). Returns executions."""
    from workflows._engine import execute

    executions = 0
    while executions < max_executions:
        current = now or runtime_clock.now()
        due = [item for item in pending if item[1] is None or item[1] <= current]
        if not due:
            return executions
        item = due[0]
        pending.remove(item)
        execute(item[0], "inline-worker")
        executions += 1
    raise RuntimeError("drain() hit max_executions: a run keeps rescheduling itself")


@pytest.fixture
def inline_dispatch(settings) -> Iterator[None]:
    """Runs go to the in-process queue (run them with ``drain()``), empty before and after."""
    settings.RAWR_WORKFLOWS_DISPATCH = "inline"
    clear()
    yield
    clear()


@pytest.fixture
def clock() -> Iterator[ModuleType]:
    """The runtime's clock: ``clock.advance(60)`` makes a sleep, timeout or backoff due
    without waiting. Back to real time after the test."""
    runtime_clock.reset()
    yield runtime_clock
    runtime_clock.reset()
