"""Built-in durable functions: the diagnostic that ``manage.py rawr doctor`` triggers."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from workflows._registry import durable_function

DOCTOR_FUNCTION_ID = "rawr.doctor"


class DoctorInput(BaseModel):
    steps: int = Field(default=3, ge=0, le=1000)
    step_sleep: float = Field(default=0.0, ge=0, le=3600)


@durable_function(DOCTOR_FUNCTION_ID, capability="rawr", input=DoctorInput, retries=2)
def doctor(ctx, step) -> dict:
    """Diagnostic: N trivial steps (each optionally busy for step_sleep seconds)."""
    done = []
    for index in range(ctx.input.steps):
        done.append(step.run(f"step-{index}", _work, index, ctx.input.step_sleep))
    return {"steps": len(done), "last": done[-1] if done else None}


def _work(index: int, seconds: float) -> dict:
    if seconds:
        time.sleep(seconds)
    return {"index": index, "at": time.time()}
