"""Cron expressions and missed-tick policies: parsed once, refused with a code when wrong.

Pure: no database, no registry. ``croniter`` (MIT, maintained with Apache Airflow) walks
the expression in the schedule's own time zone (``zoneinfo``), so ``0 9 * * *`` in
``Europe/Berlin`` fires at 09:00 Berlin time on both sides of a DST change. Five fields are
the usual ``minute hour day month weekday``; a sixth, *leading* field is seconds (as in
Quartz and node-cron): ``* * * * * *`` fires every second. ``@hourly``-style macros work.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterError, croniter

from workflows.schedules.codes import INVALID_CRON, INVALID_MISSED_POLICY, INVALID_TIMEZONE

MAX_EXPRESSION_CHARS = 200
#: Catching up more than this many missed ticks is a flood, not a schedule.
MAX_CATCH_UP = 1000


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def parse_timezone(name: Any) -> ZoneInfo:
    """An IANA zone name (``Europe/Berlin``, ``UTC``); anything else is ``INVALID_TIMEZONE``."""
    if not isinstance(name, str) or name not in _zones():
        raise INVALID_TIMEZONE(
            f"{name!r} is not an IANA time zone (such as UTC or Europe/Berlin)",
            data={"timezone": name if isinstance(name, str) else repr(name)},
        )
    return ZoneInfo(name)


@dataclass(frozen=True)
class CronSpec:
    """A valid cron expression in a valid time zone; build it with ``parse_cron``."""

    expression: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def has_seconds(self) -> bool:
        return len(self.expression.split()) == 6

    @property
    def pinned_hours(self) -> bool:
        """The hour field names hours (``30 2 * * *``, ``@daily``), rather than every one."""
        fields = self.expression.split()
        if len(fields) == 1:
            return fields[0] not in ("@hourly",)
        return fields[2 if self.has_seconds else 1] != "*"

    def _iter(self, start: datetime) -> croniter:
        return croniter(
            self.expression,
            start.astimezone(self.zone),
            second_at_beginning=self.has_seconds,
        )

    def _keep(self, tick: datetime) -> bool:
        """When clocks fall back, an hour's wall times happen twice: a job pinned to hours
        (``30 2 * * *``) runs at the first, like cron; ``*/30 * * * *`` runs in both."""
        # Through UTC: croniter may hand back ``fold=1`` on times that are not ambiguous.
        local = tick.astimezone(UTC).astimezone(self.zone)
        return not (self.pinned_hours and local.fold == 1)

    def _ticks(self, it: croniter, *, backwards: bool = False) -> Iterator[datetime]:
        step = it.get_prev if backwards else it.get_next
        while True:
            tick = step(datetime)
            if self._keep(tick):
                yield tick.astimezone(UTC)

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment`` (UTC)."""
        return next(self._ticks(self._iter(moment)))

    def iter_from(self, start: datetime) -> Iterator[datetime]:
        """Ticks at or after ``start``, in order (UTC)."""
        return self._ticks(self._iter(start - timedelta(microseconds=1)))

    def previous(self, before: datetime, count: int) -> list[datetime]:
        """The last ``count`` ticks strictly before ``before``, oldest first (UTC)."""
        ticks = self._ticks(self._iter(before), backwards=True)
        return sorted(next(ticks) for _ in range(count))


def parse_cron(expression: Any, timezone: Any = "UTC") -> CronSpec:
    """Check ``expression`` and ``timezone``; ``INVALID_CRON`` / ``INVALID_TIMEZONE`` if wrong.

    An expression that never fires (``0 0 31 2 *``) is refused too: a schedule that can not
    fire is a mistake, not a schedule.
    """
    parse_timezone(timezone)
    if not isinstance(expression, str) or not expression.strip():
        raise INVALID_CRON("cron must be a non-empty string", data={"cron": repr(expression)})
    text = " ".join(expression.split())
    if len(text) > MAX_EXPRESSION_CHARS:
        raise INVALID_CRON(
            f"cron is longer than {MAX_EXPRESSION_CHARS} characters", data={"cron": text[:50]}
        )
    fields = len(text.split())
    if not (text.startswith("@") and fields == 1) and fields not in (5, 6):
        raise INVALID_CRON(
            f"{text!r} has {fields} fields: use 5 (minute hour day month weekday) or 6 "
            "(second first), or a macro such as @hourly",
            data={"cron": text},
        )
    spec = CronSpec(text, timezone)
    try:
        if not croniter.is_valid(text, second_at_beginning=spec.has_seconds):
            raise CroniterError(f"[{text}] is not acceptable")
        spec.next_after(datetime.now(UTC))
    except (CroniterError, ValueError, KeyError, OverflowError) as exc:
        raise INVALID_CRON(f"{text!r} is not a valid cron expression", data={"cron": text}) from exc
    return spec


@dataclass(frozen=True)
class MissedPolicy:
    """What happens to ticks that passed while no scheduler ran (downtime).

    A tick less than ``RAWR_SCHEDULE_GRACE_SECONDS`` late is not missed: it starts. Later
    ones are *skipped* (``skip``, the default), or the newest ``limit`` of them start
    (``catch_up``) and older ones are skipped. Skipped ticks are counted on the schedule.
    """

    policy: str = "skip"
    limit: int = 0

    @property
    def catch_up(self) -> int:
        return self.limit if self.policy == "catch_up" else 0

    def as_json(self) -> dict[str, Any]:
        if self.policy == "catch_up":
            return {"policy": "catch_up", "limit": self.limit}
        return {"policy": "skip"}

    def __str__(self) -> str:
        return f"catch up {self.limit}" if self.policy == "catch_up" else "skip"


SKIP = MissedPolicy()


def parse_missed(value: Any) -> MissedPolicy:
    """``"skip"``, ``("catch_up", N)`` (declarations) or ``{"policy": ..., "limit": N}``
    (the API); ``INVALID_MISSED_POLICY`` for anything else."""
    if value is None or value == "skip" or value == {"policy": "skip"}:
        return SKIP
    if isinstance(value, MissedPolicy):
        return value
    policy, limit = None, None
    if isinstance(value, tuple | list) and len(value) == 2:
        policy, limit = value
    elif isinstance(value, dict) and set(value) == {"policy", "limit"}:
        policy, limit = value["policy"], value["limit"]
    if (
        policy == "catch_up"
        and isinstance(limit, int)
        and not isinstance(limit, bool)
        and 1 <= limit <= MAX_CATCH_UP
    ):
        return MissedPolicy("catch_up", limit)
    shown = json.dumps(value, default=repr)[:200]
    raise INVALID_MISSED_POLICY(
        f'missed must be "skip" or {{"policy": "catch_up", "limit": N}} (("catch_up", N) in '
        f"code) with N from 1 to {MAX_CATCH_UP}, not {shown}",
        data={"missed": shown},
    )
