"""Cron schedules on real workers: two Celery workers (each runs the scheduler bootstep)
and an every-second schedule; each tick starts exactly one run, executed exactly once.

The clock-seam version (60 s of ticks in milliseconds, two scheduler threads racing) is
``workflows/schedules/tests/test_scheduler.py``; this one is real time, real processes.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest

from tests.e2e import flows
from tests.e2e.flows import marks, wait_until
from workflows.models import Run, RunStatus
from workflows.schedules import services
from workflows.schedules.scheduler import tick_key, tick_scope

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: Real seconds the schedule runs for.
SECONDS = 6


def test_two_workers_start_one_run_per_tick(dedicated_worker, tmp_path):
    assert flows.quick.id == "e2e.quick"
    env = {"RAWR_SCHEDULER_INTERVAL": "0.2"}
    workers = [dedicated_worker(env=env), dedicated_worker(env=env)]
    log = str(tmp_path / "marks.log")
    schedule = services.schedule_create(
        function_id="e2e.quick", cron="* * * * * *", input={"log": log}, by="test"
    )
    time.sleep(SECONDS)
    services.schedule_pause(schedule_id=schedule.pk, by="test")
    runs = Run.objects.filter(idempotency_scope=tick_scope(schedule.pk))

    def all_done() -> bool:
        return not runs.exclude(status=RunStatus.COMPLETED).exists()

    wait_until(all_done, timeout=30, what="every scheduled run to complete")
    schedule.refresh_from_db()
    keys = Counter(runs.values_list("idempotency_key", flat=True))
    assert len(keys) >= SECONDS - 2, f"only {len(keys)} ticks fired in {SECONDS} s"
    # Contiguous seconds up to the last fire, one run each, and nothing else.
    last = schedule.last_fire_at
    expected = {tick_key(schedule.pk, last - timedelta(seconds=s)) for s in range(len(keys))}
    assert set(keys) == expected, sorted(set(keys) ^ expected)
    assert max(keys.values()) == 1
    # Each run executed its step exactly once, across both workers.
    assert Counter(marks(log)) == {"only": len(keys)}
    assert len({w.hostname for w in workers}) == 2
    print(f"\n{len(keys)} ticks in {SECONDS} s, {len(keys)} runs, each executed once")
