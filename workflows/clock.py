"""The runtime's clock. Every due time the runtime computes or compares (sleeps, waits,
timeouts, retry backoff, leases, run deadlines) reads ``now()``, so a test moves the
clock (``workflows.testing.clock``) instead of sleeping in real time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

_offset = timedelta(0)


def now() -> datetime:
    return timezone.now() + _offset


def advance(seconds: float) -> None:
    """Move the clock forward (tests only: production never calls it)."""
    global _offset
    _offset += timedelta(seconds=seconds)


def reset() -> None:
    global _offset
    _offset = timedelta(0)
