"""Timeline entries: what a state change or a durable function appends to a run's timeline.

Kept free of model imports so ``workflows`` can export it before apps are ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Ev:
    """A timeline event to append: ``type``, optional ``step_id`` and ``payload``."""

    type: str
    step_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    #: When it happened, if not when it is written: a step's ``step.started`` is written
    #: with its outcome but keeps the moment the step began (the console's waterfall).
    at: datetime | None = None


#: Public name (``workflows.TimelineEntry``) for events durable functions emit.
TimelineEntry = Ev
