"""The durable runtime under faults: a worker killed mid-step, a broker that goes away.

Each test starts its own workers (``dedicated_worker``) on a queue only they consume,
with a short lease and a fast sweeper, so the recovery paths run in seconds:

* a worker is SIGKILLed (its whole process group) while step 3 runs; another worker's
  sweeper finds the expired lease and the run finishes there, finished steps not re-run;
* the broker is stopped, runs are triggered by a separate process, they wait ``queued``;
  the broker comes back and the sweeper gets each executed exactly once.

Both run on every broker ``make test`` covers (marker ``broker``): on Redis the outage is
a private ``redis-server`` stopped and started again, on RabbitMQ the session's virtual
host behind a proxy that resets every connection (``tests/brokers.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.brokers import BrokerOutage, forget_queue, start_broker_outage
from tests.e2e.flows import (
    BROKER_DOWN_QUEUE,
    KILL_QUEUE,
    events,
    marks,
    timeline,
    wait_for,
    wait_until,
)
from tests.workers import _test_database_url
from workflows import trigger
from workflows.models import Run, Step

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.django_db(transaction=True)]

#: Short lease, fast sweeper: a dead worker's run is re-sent about 2 s after it dies.
FAST_RECOVERY = {
    "RAWR_RUN_LEASE_SECONDS": "2",
    "RAWR_SWEEP_INTERVAL": "0.5",
    "RAWR_SWEEP_GRACE_SECONDS": "1",
}


@pytest.fixture
def log(tmp_path: Path) -> str:
    return str(tmp_path / "side-effects.log")


@pytest.fixture
def broker_outage(tmp_path: Path) -> Iterator[BrokerOutage]:
    """A running broker of the configured kind that the test may stop and start again."""
    outage = start_broker_outage(settings.CELERY_BROKER_URL, tmp_path)
    try:
        yield outage
    finally:
        outage.stop()


def _forget_broker_leftovers(broker_url: str, queue: str, run_ids: list[str]) -> None:
    """Drop what these tests leave on the shared broker: the queue no session worker
    consumes, and the unacknowledged message a killed worker held."""
    forget_queue(broker_url, queue, run_ids)


def test_run_of_a_killed_worker_is_finished_by_another_without_rerunning_finished_steps(
    dedicated_worker, log
) -> None:
    first = dedicated_worker(queues=KILL_QUEUE, env=FAST_RECOVERY)
    run = trigger("e2e.crashable", {"log": log, "hold": 3}).run
    try:
        wait_until(lambda: "s3-start" in marks(log, run.pk), timeout=15, what="step 3 to start")
        # Steps are written when they end; one that runs longer than
        # RAWR_STEP_RECORD_AFTER_SECONDS is written as running by the run's lease keeper.
        wait_until(
            lambda: Step.objects.filter(run=run, step_id="s3", status="running").exists(),
            timeout=5,
            what="step 3 to be recorded as running",
        )

        os.killpg(first.process.pid, signal.SIGKILL)  # the worker and its pool children
        first.process.wait()

        # The dead worker still holds the lease; nothing is lost, nothing moves yet.
        assert Run.objects.get(pk=run.pk).status == "running"
        assert marks(log, run.pk) == ["s1", "s2", "s3-start"]
        second = dedicated_worker(queues=KILL_QUEUE, env=FAST_RECOVERY)
        done = wait_for(run.pk, "completed", timeout=20)
    finally:
        _forget_broker_leftovers(settings.CELERY_BROKER_URL, KILL_QUEUE, [run.pk])

    assert done.output == "s3-finish"
    # Steps 1 and 2 ran once; step 3 was started twice (the crash lost it) and finished once.
    assert marks(log, run.pk) == ["s1", "s2", "s3-start", "s3-start", "s3-finish"]
    assert timeline(run.pk) == [
        ("run.queued", ""),
        ("run.started", ""),
        ("step.started", "s1"),
        ("step.completed", "s1"),
        ("step.started", "s2"),
        ("step.completed", "s2"),
        ("step.started", "s3"),
        ("run.resumed", ""),
        ("step.started", "s3"),
        ("step.completed", "s3"),
        ("run.completed", ""),
    ]
    started = events(run.pk, "run.started")[0].payload
    resumed = events(run.pk, "run.resumed")[0].payload
    assert started["worker"].startswith(first.hostname + ":")
    assert resumed["worker"].startswith(second.hostname + ":")
    assert resumed["from"] == "running"
    assert (started["attempt"], resumed["attempt"]) == (1, 2)
    attempts = dict(Step.objects.filter(run=run).values_list("step_id", "attempts"))
    assert attempts == {"s1": 1, "s2": 1, "s3": 1}
    # Two executions began step 3: the killed one and the one that finished it.
    assert Step.objects.get(run=run, step_id="s3").starts == 2


TRIGGER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import django

    django.setup()
    from workflows import trigger

    results = []
    for index in range(int(sys.argv[2])):
        began = time.monotonic()
        run = trigger("e2e.broker_down", {"log": sys.argv[1]}).run
        results.append({"runId": run.pk, "status": run.status, "seconds": time.monotonic() - began})
    print(json.dumps(results))
    """
)


def _trigger_from_another_process(*, broker_url: str, log: str, count: int) -> list[dict]:
    """Trigger runs from a separate process (a web server, say) whose broker is ``broker_url``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rawr_site.settings",
        "DATABASE_URL": _test_database_url(
            os.environ["DATABASE_URL"], connection.settings_dict["NAME"]
        ),
        "CELERY_BROKER_URL": broker_url,
        "RAWR_WORKFLOW_MODULES": "tests.e2e.flows",
    }
    env.pop("TEST_DATABASE_NAME", None)
    done = subprocess.run(
        [sys.executable, "-c", TRIGGER_SCRIPT, log, str(count)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_runs_triggered_while_the_broker_is_down_stay_queued_then_run_once_when_it_is_back(
    broker_outage, dedicated_worker, log
) -> None:
    worker = dedicated_worker(
        queues=BROKER_DOWN_QUEUE, broker_url=broker_outage.url, env=FAST_RECOVERY
    )
    broker_outage.stop()
    run_ids: list[str] = []
    try:
        triggered = _trigger_from_another_process(broker_url=broker_outage.url, log=log, count=10)

        run_ids = [t["runId"] for t in triggered]
        # Each trigger answered quickly, with a queued run, although nothing reached a broker.
        assert len(set(run_ids)) == 10
        assert [t["status"] for t in triggered] == ["queued"] * 10
        slowest = max(t["seconds"] for t in triggered)
        assert slowest < 3, triggered
        # A few sweeper ticks later (they fail: no broker) every run still waits, untouched.
        time.sleep(1.5)
        assert set(Run.objects.filter(pk__in=run_ids).values_list("status", flat=True)) == {
            "queued"
        }
        assert marks(log) == []

        broker_outage.start()
        back = time.monotonic()
        for run_id in run_ids:
            wait_for(run_id, "completed", timeout=30)
        recovered_in = time.monotonic() - back
    finally:
        if not broker_outage.running:  # failed while down: let the worker stop cleanly
            broker_outage.start()
        _forget_broker_leftovers(settings.CELERY_BROKER_URL, BROKER_DOWN_QUEUE, run_ids)

    print(f"broker down: slowest trigger {slowest:.2f}s, all 10 done {recovered_in:.1f}s after")
    # Exactly once each: one side effect, one execution, by the dedicated worker.
    assert sorted(marks(log)) == ["only"] * 10
    for run_id in run_ids:
        assert marks(log, run_id) == ["only"]
        assert [t for t, _ in timeline(run_id)] == [
            "run.queued",
            "run.started",
            "step.started",
            "step.completed",
            "run.completed",
        ]
        assert events(run_id, "run.started")[0].payload["worker"].startswith(worker.hostname)
    assert recovered_in < 30

    # The sweeper may re-send a run before the worker has reconnected (so several messages
    # per run can be waiting); the conditional claim makes every extra one a no-op.
    def worker_log_once_all_logged() -> str:
        text = worker.log()
        return text if all(f"run {r}: completed" in text for r in run_ids) else ""

    executed = wait_until(worker_log_once_all_logged, timeout=5, what="the worker's log lines")
    for run_id in run_ids:
        assert executed.count(f"run {run_id}: completed") == 1
