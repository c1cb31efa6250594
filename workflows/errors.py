"""Errors a durable function raises to steer the runtime, and the runtime's error codes."""

from __future__ import annotations

from datetime import datetime

from workflows.codes import RunErrorCode


class NonRetriableError(Exception):
    """Fail the run now: retrying cannot help (bad input, a permanent refusal...)."""

    code = RunErrorCode.NON_RETRIABLE

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class RetryAfter(Exception):
    """Retry the failing step after ``seconds`` (or at ``at``), e.g. when rate limited."""

    def __init__(
        self,
        message: str = "retry later",
        *,
        seconds: float | None = None,
        at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.at = at


class ChildRunFailed(NonRetriableError):
    """``step.invoke``'s child run failed or was cancelled."""

    code = RunErrorCode.CHILD_RUN_FAILED


class NonDeterminismError(NonRetriableError):
    """A replay reached a different step than the recorded run did at the same position."""

    code = RunErrorCode.NON_DETERMINISTIC


class StepOutputNotJSON(NonRetriableError):
    code = RunErrorCode.STEP_OUTPUT_NOT_JSON


# Control flow: BaseException so a user's ``except Exception`` never swallows them.
class _Suspend(BaseException):
    """The run is parked (sleeping, waiting, retry scheduled); unwind the function body."""


class _Stop(BaseException):
    """The run reached a final state inside a step (failed/cancelled) or lost its lease."""
