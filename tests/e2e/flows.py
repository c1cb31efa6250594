"""Durable functions that the end-to-end tests run on real worker processes.

Workers import this module through ``RAWR_WORKFLOW_MODULES=tests.e2e.flows`` (see
``conftest.py``); the test process imports it to trigger them. Every function takes a
plain dict input carrying ``log``: a file that steps append ``"<run id> <label>"`` lines
to with ``O_APPEND``, so a test counts real side effects across processes and restarts.

Functions on their own queues (``KILL_QUEUE``, ``BROKER_DOWN_QUEUE``, ``NOBODY_QUEUE``)
are only consumed by the dedicated workers a test starts (or by nobody at all), so the
session worker never takes them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from workflows import NonRetriableError, durable_function

#: Suffixed with the session's own default queue (``RAWR_CELERY_QUEUE``, set by
#: ``make test``; workers inherit it), so two suites on one broker never share a queue.
_SESSION = os.environ.get("RAWR_CELERY_QUEUE", "celery")
KILL_QUEUE = f"e2e-kill-{_SESSION}"
BROKER_DOWN_QUEUE = f"e2e-broker-down-{_SESSION}"
NOBODY_QUEUE = f"e2e-nobody-{_SESSION}"
PRIORITY_QUEUE = f"e2e-priority-{_SESSION}"
#: Redis keys kombu keeps per queue (``.format(queue)``), dropped after a test.
BROKER_KEYS = ("{}", "_kombu.binding.{}", "_kombu.binding_permanent.{}")


def mark(log: str, run_id: str, label: str) -> str:
    """Append one line atomically (a single ``write`` on an ``O_APPEND`` descriptor)."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{run_id} {label}\n".encode())
    finally:
        os.close(fd)
    return label


def marks(log: str | Path, run_id: str | None = None) -> list[str]:
    """Labels in the order they were written (only ``run_id``'s when given)."""
    path = Path(log)
    if not path.exists():
        return []
    lines = [line.split(" ", 1) for line in path.read_text().splitlines() if line]
    return [label for rid, label in lines if run_id is None or rid == run_id]


def _wait_for_file(path: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@durable_function("e2e.pipeline", capability="e2e", retries=3, backoff_base=0.2)
def pipeline(ctx, step) -> dict[str, Any]:
    """fetch -> flaky (fails its first ``failTimes`` attempts) -> store."""
    log, rid = ctx.input["log"], ctx.run_id
    fail_times = int(ctx.input.get("failTimes", 0))

    def flaky() -> int:
        mark(log, rid, "flaky")
        attempt = marks(log, rid).count("flaky")
        if attempt <= fail_times:
            raise ConnectionError(f"upstream down (attempt {attempt})")
        return attempt

    fetched = step.run("fetch", mark, log, rid, "fetch")
    attempts = step.run("flaky", flaky)
    step.run("store", mark, log, rid, "store")
    return {"fetched": fetched, "flakyAttempts": attempts}


@durable_function("e2e.refuse", capability="e2e", retries=5, backoff_base=0.2)
def refuse(ctx, step) -> None:
    """A step that raises ``NonRetriableError``: the run fails at once."""
    log, rid = ctx.input["log"], ctx.run_id

    def charge() -> None:
        mark(log, rid, "charge")
        raise NonRetriableError("card declined", code="CARD_DECLINED")

    step.run("charge", charge)
    step.run("receipt", mark, log, rid, "receipt")


@durable_function("e2e.fragile", capability="e2e", retries=0)
def fragile(ctx, step) -> dict[str, Any]:
    """first -> fragile (fails while the ``broken`` file exists) -> last."""
    log, rid, broken = ctx.input["log"], ctx.run_id, ctx.input["broken"]

    def attempt() -> str:
        mark(log, rid, "fragile")
        if os.path.exists(broken):
            raise RuntimeError("dependency is broken")
        return "repaired"

    first = step.run("first", mark, log, rid, "first")
    state = step.run("fragile", attempt)
    step.run("last", mark, log, rid, "last")
    return {"first": first, "fragile": state}


@durable_function("e2e.sleeper", capability="e2e")
def sleeper(ctx, step) -> dict[str, Any]:
    """before -> sleep ``seconds`` (the worker is free meanwhile) -> after."""
    log, rid = ctx.input["log"], ctx.run_id
    step.run("before", mark, log, rid, "before")
    step.sleep("nap", seconds=float(ctx.input["seconds"]))
    step.run("after", mark, log, rid, "after")
    return {"slept": ctx.input["seconds"]}


@durable_function("e2e.quick", capability="e2e")
def quick(ctx, step) -> str:
    return step.run("only", mark, ctx.input["log"], ctx.run_id, "only")


@durable_function("e2e.approval", capability="search")
def approval(ctx, step) -> dict[str, Any]:
    """Waits for ``e2e.approved`` about its ``orderId``.

    Declared under the ``search`` capability so that capability's published event route
    (``POST /api/workflows/search/events``) may resume it and its run route may show it.
    """
    log, rid = ctx.input["log"], ctx.run_id
    step.run("before", mark, log, rid, "before")
    if ctx.attempt > 1:
        # Deterministic work outside any step (parsing, say) that takes a while on replay.
        time.sleep(float(ctx.input.get("replayWork", 0)))
    event = step.wait_for_event(
        "approval",
        "e2e.approved",
        match={"orderId": ctx.input["orderId"]},
        timeout=ctx.input.get("timeout"),
    )
    step.run("after", mark, log, rid, "after")
    return {"event": event}


@durable_function("e2e.child", capability="e2e", retries=0)
def child(ctx, step) -> dict[str, Any]:
    """Doubles ``value``; fails while the optional ``broken`` file exists."""
    log, broken = ctx.input["log"], ctx.input.get("broken")

    def work() -> str:
        mark(log, ctx.run_id, "child-work")
        if broken and os.path.exists(broken):
            raise RuntimeError("child dependency is broken")
        return "ok"

    step.run("work", work)
    return {"doubled": ctx.input["value"] * 2}


@durable_function("e2e.parent", capability="e2e")
def parent(ctx, step) -> dict[str, Any]:
    """prepare -> invoke ``e2e.child`` -> finish with the child's output."""
    log, rid = ctx.input["log"], ctx.run_id
    step.run("prepare", mark, log, rid, "prepare")
    child_input = {"log": log, "value": ctx.input["value"], "broken": ctx.input.get("broken")}
    result = step.invoke("child", "e2e.child", child_input)
    step.run("finish", mark, log, rid, "finish")
    return {"child": result}


@durable_function("e2e.gated", capability="e2e", retries=0)
def gated(ctx, step) -> str:
    """first -> gate (runs until the ``gate`` file appears) -> last."""
    log, rid, gate = ctx.input["log"], ctx.run_id, ctx.input["gate"]

    def hold() -> bool:
        mark(log, rid, "gate-start")
        opened = _wait_for_file(gate, timeout=15)
        mark(log, rid, "gate-end")
        return opened

    step.run("first", mark, log, rid, "first")
    step.run("gate", hold)
    step.run("last", mark, log, rid, "last")
    return "done"


@durable_function("e2e.unconsumed", capability="e2e", queue=NOBODY_QUEUE)
def unconsumed(ctx, step) -> str:
    """On a queue no worker consumes: its runs stay queued."""
    return step.run("only", mark, ctx.input["log"], ctx.run_id, "only")


@durable_function("e2e.crashable", capability="e2e", queue=KILL_QUEUE, retries=0)
def crashable(ctx, step) -> str:
    """s1 -> s2 -> s3 (busy ``hold`` seconds between its start and finish markers)."""
    log, rid = ctx.input["log"], ctx.run_id

    def slow() -> str:
        mark(log, rid, "s3-start")
        time.sleep(float(ctx.input["hold"]))
        return mark(log, rid, "s3-finish")

    step.run("s1", mark, log, rid, "s1")
    step.run("s2", mark, log, rid, "s2")
    return step.run("s3", slow)


@durable_function("e2e.marathon", capability="e2e", queue=KILL_QUEUE, retries=0)
def marathon(ctx, step) -> int:
    """Steps ``s0, s1, …`` (each busy ``hold`` seconds) until the file ``stop`` exists.

    Whether to stop is itself a step, so every replay takes the same path (determinism)."""
    log, rid, hold = ctx.input["log"], ctx.run_id, float(ctx.input["hold"])

    def work(index: int) -> str:
        mark(log, rid, f"s{index}-start")
        time.sleep(hold)
        return mark(log, rid, f"s{index}-finish")

    index = 0
    while not step.run(f"stop?{index}", os.path.exists, ctx.input["stop"]):
        step.run(f"s{index}", work, index)
        index += 1
    return index


@durable_function("e2e.routine", capability="e2e", queue=PRIORITY_QUEUE, priority=0)
def routine(ctx, step) -> str:
    return step.run("only", mark, ctx.input["log"], ctx.run_id, "routine")


@durable_function("e2e.urgent", capability="e2e", queue=PRIORITY_QUEUE, priority=9)
def urgent(ctx, step) -> str:
    return step.run("only", mark, ctx.input["log"], ctx.run_id, "urgent")


@durable_function("e2e.broker_down", capability="e2e", queue=BROKER_DOWN_QUEUE)
def broker_down(ctx, step) -> str:
    return step.run("only", mark, ctx.input["log"], ctx.run_id, "only")


# -- test-side helpers (the test process only) -----------------------------------------
def wait_for(run_id: str, status: str, *, timeout: float = 10.0):
    """Poll the run until it is in ``status``; fail early if it finishes otherwise."""
    from workflows.models import FINISHED_STATUSES, Run

    deadline = time.monotonic() + timeout
    while True:
        run = Run.objects.filter(pk=run_id).first()
        if run is not None and run.status == status:
            return run
        finished = run is not None and run.status in FINISHED_STATUSES
        if finished or time.monotonic() > deadline:
            current = run.status if run is not None else "missing"
            raise AssertionError(
                f"run {run_id} is {current}, expected {status} (waited {timeout}s); "
                f"error={getattr(run, 'error', None)}; timeline={timeline(run_id)}"
            )
        time.sleep(0.05)


def wait_until(predicate, *, timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate()`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def timeline(run_id: str) -> list[tuple[str, str]]:
    """``(type, step_id)`` of every timeline event of the run, in order."""
    from workflows.models import TimelineEvent

    return list(
        TimelineEvent.objects.filter(run_id=run_id).order_by("seq").values_list("type", "step_id")
    )


def events(run_id: str, type_: str) -> list:
    """The run's timeline rows of one type, in order."""
    from workflows.models import TimelineEvent

    return list(TimelineEvent.objects.filter(run_id=run_id, type=type_).order_by("seq"))
