"""The scheduler against the real engine and Postgres, on the runtime's clock.

``clock.advance`` moves ``workflows.clock.now()`` (what the scheduler and the engine
read), so a minute of ticks takes milliseconds.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections, transaction

from workflows.models import Run, RunStatus
from workflows.schedules import services
from workflows.schedules.declarations import Declaration, temporarily_declared
from workflows.schedules.models import Schedule
from workflows.schedules.scheduler import PRINCIPAL, _fire_one, fire_due, tick_key, tick_scope
from workflows.testing import drain

pytestmark = pytest.mark.django_db
#: Committed for real: the run's message goes out on commit (to be drained), and the
#: threads of the two-scheduler test see the schedule.
committed = pytest.mark.django_db(transaction=True)


def _runs(schedule: Schedule) -> list[Run]:
    return list(Run.objects.filter(idempotency_scope=tick_scope(schedule.pk)).order_by("id"))


@committed
def test_a_due_tick_starts_one_run_with_the_schedule_input(functions, clock):
    schedule = services.schedule_create(
        function_id="t.sched.report", cron="*/5 * * * *", input={"team": "ops"}, by="user:amy"
    )
    tick = schedule.next_fire_at
    assert fire_due() == []  # not due yet

    clock.advance((tick - clock.now()).total_seconds() + 1)
    fired = fire_due()
    assert [(f.tick, f.created) for f in fired] == [(tick, True)]
    drain()
    (run,) = _runs(schedule)
    assert run.idempotency_key == tick_key(schedule.pk, tick)
    assert run.idempotency_key == f"schedule:{schedule.pk}:{tick.isoformat()}"
    assert run.principal == PRINCIPAL
    assert run.correlation_id == f"schedule:{schedule.pk}"
    assert run.status == RunStatus.COMPLETED
    assert run.output == {"team": "ops"}

    schedule.refresh_from_db()
    assert schedule.last_fire_at == tick
    assert schedule.last_run_id == run.pk
    assert schedule.next_fire_at == tick + timedelta(minutes=5)
    assert fire_due() == []  # the same tick never fires again


def test_a_tick_fired_twice_is_one_run(functions, clock):
    """The key is the proof: put the schedule back (a restored backup, a clock jump) and
    the tick's run is found, not started again."""
    schedule = services.schedule_create(function_id="t.sched.ping", cron="* * * * *", by="t")
    tick = schedule.next_fire_at
    clock.advance((tick - clock.now()).total_seconds())
    (first,) = fire_due()
    Schedule.objects.filter(pk=schedule.pk).update(next_fire_at=tick)
    (again,) = fire_due()
    assert again.run_id == first.run_id
    assert (first.created, again.created) == (True, False)
    assert len(_runs(schedule)) == 1


def test_paused_schedules_start_nothing_and_resume_from_now(functions, clock):
    schedule = services.schedule_create(function_id="t.sched.ping", cron="* * * * *", by="t")
    services.schedule_pause(schedule_id=schedule.pk, by="user:amy")
    clock.advance(600)
    assert fire_due() == []
    resumed = services.schedule_resume(schedule_id=schedule.pk, by="user:amy")
    # Ticks while paused never run: the next one is after now, nothing is "missed".
    assert resumed.next_fire_at > clock.now()
    assert fire_due() == []
    clock.advance(60)
    assert len(fire_due()) == 1
    resumed.refresh_from_db()
    assert resumed.ticks_skipped == 0


def test_downtime_skip_policy(functions, clock):
    """Every minute, the scheduler down for 10 minutes: the ticks within the grace (60 s)
    start, the older ones are counted as skipped."""
    schedule = services.schedule_create(function_id="t.sched.ping", cron="* * * * *", by="t")
    first = schedule.next_fire_at
    clock.advance((first - clock.now()).total_seconds() + 600)
    fired = fire_due()
    assert [f.tick for f in fired] == [first + timedelta(minutes=m) for m in (9, 10)]
    schedule.refresh_from_db()
    assert schedule.ticks_skipped == 9
    assert len(_runs(schedule)) == 2


def test_downtime_catch_up_policy(functions, clock):
    schedule = services.schedule_create(
        function_id="t.sched.ping", cron="* * * * *", missed=("catch_up", 3), by="t"
    )
    first = schedule.next_fire_at
    clock.advance((first - clock.now()).total_seconds() + 600)
    fired = fire_due()
    assert [f.tick for f in fired] == [first + timedelta(minutes=m) for m in (6, 7, 8, 9, 10)]
    schedule.refresh_from_db()
    assert schedule.ticks_skipped == 6


def test_a_tick_that_cannot_start_says_why_and_the_schedule_goes_on(functions, clock):
    schedule = services.schedule_create(
        function_id="t.sched.report", cron="* * * * *", input={"team": "ops"}, by="t"
    )
    Schedule.objects.filter(pk=schedule.pk).update(input={"team": None})
    clock.advance(61)
    assert fire_due() == []
    schedule.refresh_from_db()
    assert schedule.last_error["code"] == "BAD_REQUEST"
    assert schedule.next_fire_at > clock.now()
    Schedule.objects.filter(pk=schedule.pk).update(input={"team": "ops"})
    clock.advance(60)
    assert len(fire_due()) == 1
    schedule.refresh_from_db()
    assert schedule.last_error is None


def test_declared_schedules_get_a_row_that_keeps_its_pause(functions, clock):
    declaration = Declaration("t.sched.ping", "*/10 * * * *", "Europe/Berlin", {"a": 1})
    with temporarily_declared(declaration):
        assert services.schedules_sync_declared().created == 1
        row = Schedule.objects.get(pk="declared.t.sched.ping")
        assert (row.cron, row.timezone, row.input, row.source) == (
            "*/10 * * * *",
            "Europe/Berlin",
            {"a": 1},
            "declared",
        )
        services.schedule_pause(schedule_id=row.pk, by="user:amy")
        assert services.schedules_sync_declared().created == 0
        assert Schedule.objects.get(pk=row.pk).paused

    with temporarily_declared(Declaration("t.sched.ping", "0 * * * *")):
        assert services.schedules_sync_declared().updated == 1
        row.refresh_from_db()
        assert (row.cron, row.timezone, row.paused) == ("0 * * * *", "UTC", True)
    # The declaration is gone from the code: so is its row.
    assert services.schedules_sync_declared().removed == 1
    assert not Schedule.objects.filter(pk=row.pk).exists()


# -- must show: two schedulers, one every-second schedule, 60 s --------------------------
@committed
def test_two_schedulers_start_exactly_one_run_per_tick(functions, clock):
    """Two schedulers (threads, each with its own Postgres connection) pass over the same
    every-second schedule together, 60 times, while the clock moves 1 s per pass; then a
    free-running race for another 60 s. Every tick from the first to the last has exactly
    one run, whose key names the tick; no tick is missing."""
    schedule = services.schedule_create(
        function_id="t.sched.ping", cron="* * * * * *", by="user:amy"
    )
    first_tick = schedule.next_fire_at
    clock.advance((first_tick - clock.now()).total_seconds())
    started: dict[str, list] = {"a": [], "b": []}
    errors: list[BaseException] = []
    barrier = threading.Barrier(3, timeout=30)

    def scheduler(name: str, passes: int) -> None:
        try:
            for _ in range(passes):
                barrier.wait()  # the clock has moved: both look for due ticks at once
                started[name].extend(f for f in fire_due() if f.created)
                barrier.wait()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler, args=(n, 60)) for n in started]
    for thread in threads:
        thread.start()
    for _ in range(60):
        barrier.wait()
        barrier.wait()
        clock.advance(1)
    for thread in threads:
        thread.join(30)
    assert not errors

    # Free-running: both loop as fast as they can while the clock moves 1 s every 20 ms.
    stop = threading.Event()

    def racer(name: str) -> None:
        try:
            while not stop.is_set():
                started[name].extend(f for f in fire_due() if f.created)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(n,)) for n in started]
    for thread in threads:
        thread.start()
    for _ in range(60):
        stop.wait(0.02)
        clock.advance(1)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not errors
    fire_due()  # whatever the last advance made due

    schedule.refresh_from_db()
    last_tick = schedule.last_fire_at
    assert last_tick >= first_tick + timedelta(seconds=119)
    seconds = int((last_tick - first_tick).total_seconds())
    ticks = [first_tick + timedelta(seconds=s) for s in range(seconds + 1)]
    expected = {tick_key(schedule.pk, tick) for tick in ticks}
    keys = Counter(run.idempotency_key for run in _runs(schedule))
    assert set(keys) == expected  # every tick has a run, and no run is for anything else
    assert max(keys.values()) == 1  # ... exactly one
    by_scheduler = {name: len(items) for name, items in started.items()}
    print(f"\n{len(keys)} ticks, {len(keys)} runs; started by scheduler: {by_scheduler}")
    assert sum(by_scheduler.values()) <= len(keys)


@committed
def test_without_the_lock_the_key_still_makes_one_run_per_tick(functions, clock):
    """Two schedulers that both think a tick is theirs (no row lock at all: each fires its
    own copy of the schedule at the same moment, 30 ticks in a row): one run per tick."""
    schedule = services.schedule_create(function_id="t.sched.ping", cron="* * * * * *", by="t")
    clock.advance((schedule.next_fire_at - clock.now()).total_seconds())
    barrier = threading.Barrier(2, timeout=30)
    created: dict[str, int] = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def unlocked(name: str) -> None:
        try:
            for _ in range(30):
                barrier.wait()
                copy = Schedule.objects.get(pk=schedule.pk)
                barrier.wait()  # both hold the same due tick now
                with transaction.atomic():
                    fired = _fire_one(copy, clock.now().replace(microsecond=0), 60)
                created[name] += sum(f.created for f in fired)
                barrier.wait()
                if name == "a":
                    clock.advance(1)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=unlocked, args=(n,)) for n in created]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    keys = Counter(run.idempotency_key for run in _runs(schedule))
    assert len(keys) >= 30
    assert max(keys.values()) == 1
    assert sum(created.values()) == len(keys)
    print(f"\nno lock: {len(keys)} runs for {len(keys)} ticks; created by {created}")
