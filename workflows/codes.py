"""The runtime's error codes: one catalog that every surface takes its codes from.

Two kinds. ``API`` errors answer a request (a ``RawrError`` with an HTTP status, declared
by the procedures and views that raise them, so they reach OpenAPI and clients as declared
codes). ``RunErrorCode`` values are what a failed run or step stores in ``error.code``
(``GET …/runs/{runId}``, the timeline, the console), documented here once.
"""

from __future__ import annotations

from enum import StrEnum

from rawr_site.contract import ErrorSpec

# -- answers to requests ----------------------------------------------------------------
RUN_NOT_FOUND = ErrorSpec("RUN_NOT_FOUND", 404, "Run not found")
INVALID_RUN_ID = ErrorSpec("INVALID_RUN_ID", 400, "Invalid run id")
RUN_ID_CONFLICT = ErrorSpec("RUN_ID_CONFLICT", 409, "Run id already used by another function")
FUNCTION_NOT_FOUND = ErrorSpec("FUNCTION_NOT_FOUND", 404, "No such durable function")
RUN_NOT_CANCELLABLE = ErrorSpec("RUN_NOT_CANCELLABLE", 409, "The run has already finished")
RUN_NOT_RETRYABLE = ErrorSpec("RUN_NOT_RETRYABLE", 409, "Only failed runs can be retried")
APPROVAL_NOT_FOUND = ErrorSpec("APPROVAL_NOT_FOUND", 404, "Approval not found")
APPROVAL_NOT_PENDING = ErrorSpec("APPROVAL_NOT_PENDING", 409, "The approval is not pending")
IDEMPOTENCY_KEY_REUSED = ErrorSpec(
    "IDEMPOTENCY_KEY_REUSED", 422, "Idempotency-Key already used with a different request"
)

API = (
    RUN_NOT_FOUND,
    INVALID_RUN_ID,
    RUN_ID_CONFLICT,
    FUNCTION_NOT_FOUND,
    RUN_NOT_CANCELLABLE,
    RUN_NOT_RETRYABLE,
    APPROVAL_NOT_FOUND,
    APPROVAL_NOT_PENDING,
    IDEMPOTENCY_KEY_REUSED,
)


# -- what a failed run or step records --------------------------------------------------
class RunErrorCode(StrEnum):
    """``error.code`` of a failed run or step (a ``NonRetriableError`` may name its own)."""

    #: A step raised and used up its retries.
    STEP_ERROR = "STEP_ERROR"
    #: The function body raised outside any step and used up its retries.
    FUNCTION_ERROR = "FUNCTION_ERROR"
    #: ``NonRetriableError`` without a code of its own.
    NON_RETRIABLE = "NON_RETRIABLE"
    #: A replay reached a step that had failed for good.
    STEP_FAILED = "STEP_FAILED"
    #: A step's worker died ``RAWR_STEP_MAX_INTERRUPTIONS`` times while running it.
    STEP_CRASHED = "STEP_CRASHED"
    #: The run outlived the function's ``timeout``.
    RUN_TIMED_OUT = "RUN_TIMED_OUT"
    #: A wait or sleep step of a run that was cancelled.
    RUN_CANCELLED = "RUN_CANCELLED"
    #: ``step.invoke``'s child run failed or was cancelled.
    CHILD_RUN_FAILED = "CHILD_RUN_FAILED"
    #: A replay took another path than the recorded run (the function is not deterministic).
    NON_DETERMINISTIC = "NON_DETERMINISTIC"
    #: A step returned something that is not JSON.
    STEP_OUTPUT_NOT_JSON = "STEP_OUTPUT_NOT_JSON"
    #: A step id that is empty, too long or not a string.
    INVALID_STEP_ID = "INVALID_STEP_ID"
    #: ``wait_for_approval`` without a title, or with a context that is not JSON.
    INVALID_APPROVAL = "INVALID_APPROVAL"
    #: Executions kept dying (lease lost) before reaching a new step.
    RUN_STALLED = "RUN_STALLED"
    #: The run's function is not registered in the worker that executed it.
    FUNCTION_NOT_FOUND = "FUNCTION_NOT_FOUND"
