"""Timeline entries: what a state change or a durable function appends to a run's timeline.

Kept free of model imports so ``workflows`` can export it before apps are ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Ev:
    """A timeline event to append: ``type``, optional ``step_id`` and ``payload``."""

    type: str
    step_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


#: Public name (``workflows.TimelineEntry``) for events durable functions emit.
TimelineEntry = Ev
