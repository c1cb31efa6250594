"""The durable functions of the scale-out drill (``bench/scale.py``).

Loaded by the drill's workers and by the drill itself through
``RAWR_WORKFLOW_MODULES=bench.scale_flows``, like any app's ``workflows.py``. A mix of
queues (the default one, ``urgent``, ``bulk``), priorities (0, 3, 5, 9) and throttles,
each step doing a little (or no) simulated I/O.

Every step execution appends one line to ``SCALE_STEP_LOG`` (``O_APPEND``, one
``write()`` of less than ``PIPE_BUF`` bytes, so lines from concurrent processes never
interleave): ``run_id <TAB> step_id <TAB> process group <TAB> pid <TAB> unix time`` (a worker's
process group id is its main process's pid: the drill knows which worker it killed). The drill
counts the lines per (run, step) afterwards: a step body that executed twice shows up
twice, whatever the runtime's own tables say.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import BaseModel, Field

from workflows import durable_function

#: Queues besides the default one; the drill's workers consume them (``-Q``).
URGENT_QUEUE = "urgent"
BULK_QUEUE = "bulk"

#: ``throttle=(limit, period_seconds, key)`` of the throttled functions, checked afterwards.
SYNC_THROTTLE = (10, 1.0)
WEBHOOK_THROTTLE = (20, 2.0)

_fd: int | None = None
_fd_pid = 0


def _log_fd() -> int:
    """One descriptor per process (a prefork child reopens it after the fork)."""
    global _fd, _fd_pid
    if _fd is None or _fd_pid != os.getpid():
        _fd = os.open(os.environ["SCALE_STEP_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _fd_pid = os.getpid()
    return _fd


def effect(run_id: str, step_id: str, sleep_ms: float = 0.0) -> dict[str, Any]:
    """A step's side effect: one appended line, then ``sleep_ms`` of simulated I/O."""
    line = f"{run_id}\t{step_id}\t{os.getpgrp()}\t{os.getpid()}\t{time.time():.6f}\n"
    os.write(_log_fd(), line.encode())
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
    return {"step": step_id}


class Work(BaseModel):
    """How many steps a run does, how long each one sleeps, and its flow-control key."""

    steps: int = Field(default=1, ge=1, le=20)
    sleep_ms: float = Field(default=0, ge=0, le=1000)
    key: str = ""


def _body(ctx, step) -> dict[str, Any]:
    for index in range(ctx.input.steps):
        step.run(f"s{index}", effect, ctx.run_id, f"s{index}", ctx.input.sleep_ms)
    return {"steps": ctx.input.steps}


def _key(work: Work) -> str:
    return work.key


# The default queue, every priority the drill reports on.
ping = durable_function("scale.ping", input=Work, priority=0, retries=0)(_body)
report = durable_function("scale.report", input=Work, priority=3, retries=0)(_body)
vip = durable_function("scale.vip", input=Work, priority=9, retries=0)(_body)
sync = durable_function(
    "scale.sync", input=Work, priority=5, retries=0, throttle=(*SYNC_THROTTLE, _key)
)(_body)
# Their own queues: ``urgent`` (one worker with the default queue too), ``bulk`` (its own).
alert = durable_function("scale.alert", input=Work, queue=URGENT_QUEUE, priority=9, retries=0)(
    _body
)
export = durable_function("scale.export", input=Work, queue=BULK_QUEUE, priority=0, retries=0)(
    _body
)
webhook = durable_function(
    "scale.webhook", input=Work, queue=BULK_QUEUE, priority=3, retries=0, throttle=WEBHOOK_THROTTLE
)(_body)
