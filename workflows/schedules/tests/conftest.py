"""Schedules run their ticks through the real engine in-process (inline dispatch)."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from pydantic import BaseModel

from workflows import durable_function, temporarily_registered


class Report(BaseModel):
    team: str


@pytest.fixture(autouse=True)
def _inline(inline_dispatch: None) -> None:
    """Every test here runs its runs in-process (``workflows.testing.inline_dispatch``)."""


@pytest.fixture
def functions():
    """``t.sched.ping`` (capability alpha, any input) and ``t.sched.report`` (beta, needs a
    team): what the schedules in these tests start."""

    @durable_function("t.sched.ping", capability="alpha", retries=0)
    def ping(ctx, step):
        return step.run("pong", lambda: {"pong": ctx.input})

    @durable_function("t.sched.report", capability="beta", input=Report, retries=0)
    def report(ctx, step):
        return {"team": ctx.input.team}

    with ExitStack() as stack:
        for function in (ping, report):
            stack.enter_context(temporarily_registered(function))
        yield
