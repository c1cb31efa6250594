"""The kill drill: the worker executing a run is SIGKILLed mid-step, again and again.

Two workers consume a queue of their own; each round kills the one holding the run's lease
in the middle of a step and starts a replacement. The run must go on executing elsewhere
within a lease plus a sweep, finish, and have executed every step it recorded exactly
once. ``RAWR_KILL_DRILL_KILLS`` / ``RAWR_KILL_DRILL_LEASE`` scale it up (the closing note
of the engine issue quotes 20 kills at the production lease of 15 s); the suite runs a
short one with a 2 s lease.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.flows import KILL_QUEUE, events, marks, wait_for, wait_until
from tests.e2e.test_runtime_faults import _forget_broker_leftovers
from workflows import trigger
from workflows.models import Run, Step

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.django_db(transaction=True)]

KILLS = int(os.environ.get("RAWR_KILL_DRILL_KILLS", "3"))
LEASE = float(os.environ.get("RAWR_KILL_DRILL_LEASE", "2"))
HOLD = 0.5  # seconds each step is busy: a kill lands inside a step, not between two


def _finished_since(log: str, run_id: str, count: int) -> bool:
    return sum(label.endswith("-finish") for label in marks(log, run_id)[count:]) > 0


def _started_since(log: str, run_id: str, count: int) -> bool:
    recent = marks(log, run_id)[count:]
    return bool(recent) and recent[-1].endswith("-start")


def test_a_run_survives_repeated_worker_kills_and_runs_each_finished_step_once(
    dedicated_worker, tmp_path: Path
) -> None:
    log, stop = str(tmp_path / "side-effects.log"), tmp_path / "stop"
    env = {
        "RAWR_RUN_LEASE_SECONDS": f"{LEASE:g}",
        "RAWR_SWEEP_INTERVAL": "0.5",
        "RAWR_SWEEP_GRACE_SECONDS": "1",
    }
    workers = [dedicated_worker(queues=KILL_QUEUE, env=env) for _ in range(2)]
    run = trigger("e2e.marathon", {"log": log, "hold": HOLD, "stop": str(stop)}).run
    recoveries: list[float] = []
    try:
        seen = 0
        for kill in range(KILLS):
            # A step has finished since the last resume (so each kill hits a new step),
            # and the next one is under way on a worker we know.
            wait_until(lambda seen=seen: _finished_since(log, run.pk, seen), timeout=LEASE + 30)
            seen = len(marks(log, run.pk))
            wait_until(
                lambda seen=seen: (
                    marks(log, run.pk)[seen:] and marks(log, run.pk)[-1].endswith("-start")
                ),
                timeout=10,
                what="a step to start",
            )
            time.sleep(random.uniform(0.05, HOLD / 2))
            owner = Run.objects.values_list("lease_owner", flat=True).get(pk=run.pk)
            victim = next(w for w in workers if owner.startswith(w.hostname + ":"))
            killed_at = time.time()
            os.killpg(victim.process.pid, signal.SIGKILL)
            victim.process.wait()
            workers.remove(victim)
            resumed = wait_until(
                lambda kill=kill: next(
                    (e for e in events(run.pk, "run.resumed") if e.payload["attempt"] >= kill + 2),
                    None,
                ),
                timeout=LEASE + 30,
                what=f"the run to resume after kill {kill + 1}",
            )
            recoveries.append(resumed.created_at.timestamp() - killed_at)
            workers.append(dedicated_worker(queues=KILL_QUEUE, env=env))
            seen = len(marks(log, run.pk))
        stop.touch()
        done = wait_for(run.pk, "completed", timeout=LEASE + 60)
    finally:
        stop.touch()
        _forget_broker_leftovers(settings.CELERY_BROKER_URL, KILL_QUEUE, [run.pk])

    print(
        f"\nkill drill: {KILLS} kills, lease {LEASE:g}s: kill -> executing again "
        f"p50 {statistics.median(recoveries):.1f}s max {max(recoveries):.1f}s "
        f"({', '.join(f'{r:.1f}' for r in recoveries)})"
    )
    assert max(recoveries) <= LEASE + 5
    steps = {s.step_id: s for s in Step.objects.filter(run=run, step_id__regex=r"^s\d+$")}
    assert len(steps) == done.output and all(s.status == "completed" for s in steps.values())
    finishes = Counter(label for label in marks(log, run.pk) if label.endswith("-finish"))
    # Every recorded step ran to its end once (a killed attempt never reached its finish).
    assert all(finishes[f"{step_id}-finish"] == 1 for step_id in steps), finishes
    assert all(step.attempts == 1 for step in steps.values())
    assert Run.objects.get(pk=run.pk).attempt >= KILLS + 1
