"""The scheduler: starts one run per due tick, from any number of processes at once.

``fire_due()`` locks the due, unpaused schedules with ``SELECT … FOR UPDATE SKIP LOCKED``,
starts each due tick's run and advances ``next_fire_at``, all in one transaction: a second
scheduler skips the rows the first holds and, once it commits, no longer finds them due.
Each run is triggered with the idempotency key ``schedule:<id>:<tick ISO time>`` in the
scope ``schedule:<id>``, so even a tick fired twice (a clock jump, a restored backup) is
one run: the key is the proof, the lock only saves the work.

Every worker runs it (``SchedulerStep``, like the sweeper), and ``manage.py rawr
scheduler`` runs it on its own. Time is ``workflows.clock.now()``: tests move the clock.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

from rawr_site.contract.errors import RawrError
from workflows import clock
from workflows.schedules.cron import CronSpec, MissedPolicy, parse_cron
from workflows.schedules.models import Schedule
from workflows.schedules.services import schedules_sync_declared
from workflows.services import trigger

logger = logging.getLogger("workflows.schedules.scheduler")

#: Who starts scheduled runs (``Run.principal``, the timeline's ``by``).
PRINCIPAL = "system:scheduler"
#: Schedules locked per transaction.
BATCH = 100
#: Ticks one schedule may start in one pass (the rest wait for the next pass).
MAX_TICKS_PER_PASS = 2000
#: Skipped ticks are counted up to this many per pass (a year of every-second ticks is
#: not worth walking).
SKIP_COUNT_CAP = 10_000
#: How often a scheduler loop re-reads the declarations into rows.
SYNC_SECONDS = 60.0


def grace_seconds() -> int:
    return int(getattr(settings, "RAWR_SCHEDULE_GRACE_SECONDS", 60))


def tick_key(schedule_id: str, tick: datetime) -> str:
    """The idempotency key of one tick's run: ``schedule:<id>:2026-12-01T07:00:00+00:00``."""
    return f"{tick_scope(schedule_id)}:{tick.isoformat()}"


def tick_scope(schedule_id: str) -> str:
    return f"schedule:{schedule_id}"


@dataclass(frozen=True)
class Fired:
    schedule_id: str
    tick: datetime
    run_id: str
    #: False when the tick's run already existed (another scheduler started it).
    created: bool


def due_ticks(
    spec: CronSpec, policy: MissedPolicy, next_fire_at: datetime, now: datetime, grace: int
) -> tuple[list[datetime], int]:
    """The ticks to start now, oldest first, and how many missed ones the policy drops.

    A tick at most ``grace`` seconds old is on time and starts; older ones are missed:
    ``skip`` drops them, ``catch_up`` starts the newest ``limit`` and drops the rest.
    """
    cutoff = now - timedelta(seconds=grace)
    ticks: list[datetime] = []
    skipped = 0
    start = next_fire_at
    if start < cutoff:
        late = [t for t in spec.previous(cutoff, policy.catch_up) if t >= start]
        missed = 0
        for t in spec.iter_from(start):
            if t >= cutoff or missed >= SKIP_COUNT_CAP:
                break
            missed += 1
        skipped = max(0, missed - len(late))
        ticks.extend(late)
        start = cutoff
    for t in spec.iter_from(start):
        if t > now or len(ticks) >= MAX_TICKS_PER_PASS:
            break
        ticks.append(t)
    return ticks, skipped


def _fire_one(schedule: Schedule, now: datetime, grace: int) -> list[Fired]:
    try:
        spec = parse_cron(schedule.cron, schedule.timezone)
    except RawrError as exc:  # stored before a zone vanished from tzdata: stop, say why
        schedule.next_fire_at = None
        schedule.last_error = {"code": exc.code, "message": exc.message}
        schedule.save(update_fields=["next_fire_at", "last_error", "updated_at"])
        return []
    policy = MissedPolicy(schedule.missed_policy, schedule.catch_up_limit)
    assert schedule.next_fire_at is not None  # the due query only returns rows that have one
    ticks, skipped = due_ticks(spec, policy, schedule.next_fire_at, now, grace)
    fired: list[Fired] = []
    for tick in ticks:
        try:
            with transaction.atomic():  # a savepoint: one bad tick does not undo the others
                triggered = trigger(
                    schedule.function_id,
                    schedule.input,
                    idempotency_key=tick_key(schedule.pk, tick),
                    idempotency_scope=tick_scope(schedule.pk),
                    principal=PRINCIPAL,
                    correlation_id=schedule.runs_correlation_id,
                )
        except RawrError as exc:
            # The function is gone or its input no longer validates: the tick is lost,
            # the schedule says why, and the next tick tries again.
            schedule.last_error = {
                "code": exc.code,
                "message": exc.message,
                "tick": tick.isoformat(),
            }
            logger.warning("schedule %s tick %s not started: %s", schedule.pk, tick, exc)
        else:
            schedule.last_error = None
            schedule.last_run_id = triggered.run.pk
            fired.append(Fired(schedule.pk, tick, triggered.run.pk, triggered.created))
        schedule.last_fire_at = tick
    capped = len(ticks) >= MAX_TICKS_PER_PASS
    schedule.next_fire_at = spec.next_after(ticks[-1] if capped else now)
    schedule.ticks_skipped += skipped
    if skipped:
        logger.info("schedule %s skipped %d missed tick(s)", schedule.pk, skipped)
    schedule.save(
        update_fields=[
            "next_fire_at",
            "last_fire_at",
            "last_run_id",
            "last_error",
            "ticks_skipped",
            "updated_at",
        ]
    )
    return fired


def fire_due(*, now: datetime | None = None, batch: int = BATCH) -> list[Fired]:
    """Start the runs of every due tick; returns what it started (safe to call anywhere).

    One transaction per batch of schedules: the runs, their ``run.queued`` events and
    the advanced ``next_fire_at`` commit together, messages go to the broker after commit.
    """
    current = (now or clock.now()).replace(microsecond=0)
    grace = grace_seconds()
    fired: list[Fired] = []
    while True:
        with transaction.atomic():
            due = list(
                Schedule.objects.select_for_update(skip_locked=True)
                .filter(paused=False, next_fire_at__lte=current)
                .order_by("next_fire_at")[:batch]
            )
            for schedule in due:
                fired.extend(_fire_one(schedule, current, grace))
        if len(due) < batch:
            return fired


class SchedulerThread(threading.Thread):
    """Runs ``fire_due()`` every ``RAWR_SCHEDULER_INTERVAL`` seconds in a worker process
    (or in ``manage.py rawr scheduler``), re-reading the declarations every minute."""

    def __init__(self, interval: float, *, name: str = "rawr-scheduler") -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.stopped = threading.Event()
        self.passes = 0

    def run(self) -> None:
        last_sync = -SYNC_SECONDS
        while not self.stopped.is_set():
            try:
                close_old_connections()
                if time.monotonic() - last_sync >= SYNC_SECONDS:
                    schedules_sync_declared()
                    last_sync = time.monotonic()
                fire_due()
                self.passes += 1
            except Exception:  # a DB or broker outage must not kill the thread; log and retry
                logger.exception("scheduler pass failed; retrying in %.1fs", self.interval)
            self.stopped.wait(self.interval)
        close_old_connections()

    def stop(self) -> None:
        self.stopped.set()


def scheduler_interval() -> float:
    return float(getattr(settings, "RAWR_SCHEDULER_INTERVAL", 1.0))


def run_forever(*, interval: float | None = None, stop: threading.Event | None = None) -> Any:
    """The ``rawr scheduler`` process: a scheduler thread until interrupted."""
    thread = SchedulerThread(interval or scheduler_interval())
    thread.start()
    try:
        while thread.is_alive() and not (stop and stop.is_set()):
            thread.join(0.5)
    finally:
        thread.stop()
        thread.join(5)
    return thread.passes
