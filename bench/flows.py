"""What ``make bench`` executes on its workers: one durable function and two Celery tasks.

The worker loads this module through ``RAWR_WORKFLOW_MODULES=bench.flows`` (like any
app's ``workflows.py``), so the engine is measured through its public API only. Every
step, task and link does next to nothing and stamps the wall clock when its body starts,
so the figures are the machinery's cost, not the work's.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task
from pydantic import BaseModel, Field

from workflows import durable_function

STEPS_FUNCTION_ID = "bench.steps"
STEP_TASK = "bench.step"
RAW_JOB_TASK = "bench.raw_job"


class StepsInput(BaseModel):
    steps: int = Field(default=0, ge=0, le=1000)


@durable_function(STEPS_FUNCTION_ID, input=StepsInput, retries=0)
def steps(ctx, step) -> dict[str, Any]:
    """N trivial steps. Returns how long the body took in-process (the in-process
    per-step cost) and when the first step's body began (trigger -> first step)."""
    began = time.perf_counter()
    first_step_at = None
    for index in range(ctx.input.steps):
        out = step.run(f"s{index}", _stamp, index)
        if first_step_at is None:
            first_step_at = out["at"]
    return {"bodyMs": (time.perf_counter() - began) * 1000, "firstStepAt": first_step_at}


def _stamp(index: int) -> dict[str, Any]:
    return {"index": index, "at": time.time()}


@shared_task(bind=True, name=STEP_TASK, ignore_result=False)
def step_task(self: Task, index: int = 0) -> dict[str, Any]:
    """A raw Celery task (alone, or one link of a chain): the same next-to-nothing body."""
    return {"index": index, "at": time.time(), "worker": self.request.hostname}


@shared_task(name=RAW_JOB_TASK, ignore_result=True)
def raw_job(job_id: int) -> int:
    """The task the raw ``INSERT + delay()`` HTTP baseline sends (bench/urls.py)."""
    return job_id
