"""Executing a run: claim it with a lease, replay the body, memoize steps, park or finish.

One execution = one Celery task for one run id. The body is re-run from the top every
time; ``step.*`` calls whose results are stored return them instead of running again, so
a crash loses at most the step that was in flight.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from workflows import _enqueue, _registry, _sql, clock
from workflows._lease import LeaseKeeper, claim
from workflows._state import Ev, append, locked_run
from workflows._steps import StepAPI, error_dict, retry_delay, storable
from workflows._transitions import fail_run, notify_parent, public_error, queue_retry
from workflows.codes import RunErrorCode
from workflows.errors import NonRetriableError, _Stop, _Suspend
from workflows.models import Run, RunStatus, Step

logger = logging.getLogger("workflows.engine")

__all__ = ["RunContext", "StepAPI", "execute"]


@dataclass
class RunContext:
    """What a durable function knows about its run besides the steps."""

    run_id: str
    function_id: str
    input: Any
    attempt: int
    correlation_id: str
    principal: str
    logger: logging.Logger


# -- execution --------------------------------------------------------------------------
def execute(run_id: str, worker: str) -> str:
    """Execute one slice of a run. Returns what happened (for logs and task results)."""
    # Only a broker message can outrun the insert of its run (the in-process queue of
    # unit tests is filled after the commit).
    wait = float(settings.RAWR_CLAIM_WAIT_SECONDS) if _enqueue.dispatches_to_broker() else 0.0
    claimed = claim(run_id, worker, wait_for_commit=wait)
    if claimed is None or claimed.run is None:
        return "skipped"
    run = claimed.run
    if run.interruptions > int(settings.RAWR_STEP_MAX_INTERRUPTIONS):
        # Its executions keep dying outside any step (the step API's STEP_CRASHED check
        # never runs): stop trying instead of looping forever.
        _finish_failed(
            run.pk,
            {
                "code": RunErrorCode.RUN_STALLED,
                "message": f"the run's executions lost their lease {run.interruptions} times "
                "in a row without finishing a step",
            },
        )
        return "failed"
    function = _registry.get_function(run.function_id)
    if function is None:
        _finish_failed(
            run.pk,
            {
                "code": RunErrorCode.FUNCTION_NOT_FOUND,
                "message": f"no durable function {run.function_id!r} is registered",
            },
        )
        return "failed"
    keeper = LeaseKeeper(run.pk, worker).start()
    try:
        return _execute_body(run, function, worker, keeper, claimed.steps)
    finally:
        keeper.stop()


def _execute_body(
    run: Run,
    function: _registry.DurableFunction,
    worker: str,
    keeper: LeaseKeeper,
    steps: list[Step] | None,
) -> str:
    step = StepAPI(run, function, worker, keeper, steps=steps)
    try:
        ctx = RunContext(
            run_id=run.pk,
            function_id=run.function_id,
            input=function.parse_input(run.input),
            attempt=run.attempt,
            correlation_id=run.correlation_id,
            principal=run.principal,
            logger=logging.getLogger(f"workflows.run.{run.function_id}"),
        )
        output = function.fn(ctx, step)
        storable("<return value>", output)
    except _Suspend:
        return "parked"
    except _Stop as stop:
        return str(stop)
    except Exception as exc:
        return _body_failed(run.pk, function, exc, worker)
    return _finish_completed(run.pk, worker, output)


def _finish_completed(run_id: str, worker: str, output: Any) -> str:
    if _sql.available():
        parent = _sql.complete_run(run_id=run_id, worker=worker, now=clock.now(), output=output)
        if parent is False:
            return "lease lost"
        if parent:
            transaction.on_commit(lambda: notify_parent(run_id))
        return "completed"
    with transaction.atomic():
        run = locked_run(run_id)
        if run is None or run.lease_owner != worker or run.status != RunStatus.RUNNING:
            return "lease lost"
        run.status = RunStatus.COMPLETED
        run.output = output
        run.error = None
        run.finished_at = clock.now()
        run.lease_owner, run.lease_expires_at = "", None
        append(run, [Ev("run.completed", payload={"attempt": run.attempt})])
        transaction.on_commit(lambda: notify_parent(run_id))
    return "completed"


def _finish_failed(run_id: str, error: dict[str, Any]) -> None:
    with transaction.atomic():
        run = locked_run(run_id)
        if run is None or run.is_finished:
            return
        fail_run(run, error, [])


def _body_failed(
    run_id: str, function: _registry.DurableFunction, exc: Exception, worker: str
) -> str:
    with transaction.atomic():
        run = locked_run(run_id)
        if run is None or run.lease_owner != worker or run.status != RunStatus.RUNNING:
            return "lease lost"
        run.body_failures += 1
        error = error_dict(exc)
        if isinstance(exc, NonRetriableError) or run.body_failures > function.options.retries:
            fail_run(run, error, [])
            return "failed"
        delay = retry_delay(exc, function.options, run.body_failures)
        retrying = {"error": public_error(error), "retryInSeconds": round(delay, 3)}
        queue_retry(run, delay, [Ev("run.retrying", payload=retrying)])
    return "retrying"
