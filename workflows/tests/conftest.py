"""Unit tests drive the real engine in-process (inline dispatch); see workflows.testing."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from workflows import durable_function, temporarily_registered


@pytest.fixture(autouse=True)
def _inline(inline_dispatch: None) -> None:
    """Every test here runs its runs in-process (``workflows.testing.inline_dispatch``)."""


@pytest.fixture
def functions():
    """Three functions of two capabilities the console tests list, filter and act on: one
    completes, one fails at once, one waits for an event."""
    @durable_function("t.admin.greet", capability="alpha", retries=0)
    def greet(ctx, step):
        return {"text": step.run("compose", lambda: "hello")}

    @durable_function("t.admin.broken", capability="alpha", retries=0)
    def broken(ctx, step):
        return step.run("explode", lambda: 1 / 0)

    @durable_function("t.admin.wait", capability="beta")
    def wait(ctx, step):
        return step.wait_for_event("approval", "approved")

    with ExitStack() as stack:
        for function in (greet, broken, wait):
            stack.enter_context(temporarily_registered(function))
        yield
