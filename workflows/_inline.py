"""The in-process message queue used when ``RAWR_WORKFLOWS_DISPATCH = "inline"``.

Kept at the bottom of the package so ``_enqueue`` can append to it without importing the
engine; ``workflows.testing`` re-exports it and drains it through the real engine.
"""

from __future__ import annotations

from datetime import datetime

#: (run_id, eta) messages "sent" while dispatch is inline.
pending: list[tuple[str, datetime | None]] = []


def clear() -> None:
    """Forget every pending message (tests start and end with an empty queue)."""
    pending.clear()
