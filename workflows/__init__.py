"""Durable workflows on Celery: the public API of the runtime.

Declare functions with ``@durable_function``; inside, use ``step.run / sleep /
wait_for_event / wait_for_approval / send_event / invoke``. Start runs with ``trigger``;
steer them with ``send_event``, ``approval_decide``, ``run_cancel``, ``run_retry``,
``run_replay``; read runs with ``workflows.selectors``. The run model and its status
values are public as types (``Run``, ``RunStatus``, ``StepStatus``, ``ACTIVE_STATUSES``,
``FINISHED_STATUSES``). Everything else in this package is private. Names that touch
models load lazily (this package is imported before Django's app registry is ready).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflows._registry import DurableFunction, durable_function, temporarily_registered
from workflows.errors import NonRetriableError, RetryAfter
from workflows.ids import SAFE_ID_PATTERN, SafeId, is_safe_id
from workflows.timeline import TimelineEntry

if TYPE_CHECKING:
    from workflows._engine import RunContext
    from workflows._steps import StepAPI
    from workflows.models import ACTIVE_STATUSES, FINISHED_STATUSES, Run, RunStatus, StepStatus
    from workflows.services import (
        approval_decide,
        event_send,
        run_cancel,
        run_replay,
        run_retry,
        trigger,
    )

__all__ = [
    "ACTIVE_STATUSES",
    "FINISHED_STATUSES",
    "SAFE_ID_PATTERN",
    "DurableFunction",
    "NonRetriableError",
    "RetryAfter",
    "Run",
    "RunContext",
    "RunStatus",
    "SafeId",
    "StepAPI",
    "StepStatus",
    "TimelineEntry",
    "approval_decide",
    "durable_function",
    "event_send",
    "is_safe_id",
    "run_cancel",
    "run_replay",
    "run_retry",
    "send_event",
    "temporarily_registered",
    "trigger",
]

_LAZY = {
    "ACTIVE_STATUSES": "workflows.models",
    "FINISHED_STATUSES": "workflows.models",
    "Run": "workflows.models",
    "RunStatus": "workflows.models",
    "StepStatus": "workflows.models",
    "RunContext": "workflows._engine",
    "StepAPI": "workflows._steps",
    "trigger": "workflows.services",
    "approval_decide": "workflows.services",
    "event_send": "workflows.services",
    "send_event": "workflows.services",
    "run_cancel": "workflows.services",
    "run_retry": "workflows.services",
    "run_replay": "workflows.services",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workflows' has no attribute {name!r}")
    import importlib

    target = "event_send" if name == "send_event" else name
    return getattr(importlib.import_module(module), target)
