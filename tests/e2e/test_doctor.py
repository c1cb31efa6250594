"""``rawr doctor`` against a real worker: the run goes through the broker, not in-process."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import CommandError, call_command

from workflows.models import Run, TimelineEvent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _doctor(*args: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("rawr", "doctor", *args, "--json", stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def _eventually_in_log(worker, text: str, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while text not in worker.log():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_doctor_run_is_executed_by_the_worker_and_reports_sane_figures(celery_worker_process):
    report, _progress = _doctor("--steps", "3", "--timeout", "60")

    assert report["ok"] is True
    assert report["status"] == "completed"
    assert report["steps"] == 3
    # The worker process executed it (its lease owner is "<hostname>:<pid>").
    assert report["worker"].startswith(celery_worker_process.hostname + ":")
    assert report["executions"] == 1
    for figure in ("triggerToStartMs", "perStepOverheadMs", "executionMs", "totalMs"):
        assert 0 < report[figure] < 30_000, figure
    assert report["triggerToStartMs"] < report["totalMs"]
    assert report["executionMs"] < report["totalMs"]
    run = Run.objects.get(pk=report["runId"])
    assert (run.status, run.principal, run.output["steps"]) == ("completed", "system:doctor", 3)
    assert run.correlation_id.startswith("doctor-")
    types = list(TimelineEvent.objects.filter(run=run).values_list("type", flat=True))
    assert types[:2] == ["run.queued", "run.started"]
    assert types.count("step.completed") == 3
    assert types[-1] == "run.completed"
    # The worker's log lines for the run carry the run's correlation id, not the task id.
    assert _eventually_in_log(celery_worker_process, f"[cid={run.correlation_id}] run {run.pk}")


def test_doctor_subtracts_the_step_work_from_the_per_step_overhead(celery_worker_process):
    report, progress = _doctor("--steps", "3", "--step-sleep", "0.5", "--timeout", "60")

    assert report["ok"] is True
    assert report["executionMs"] >= 1500
    # Overhead is what remains after 3 x 500 ms of work: far below the work itself.
    assert 0 < report["perStepOverheadMs"] < 500
    # A wait longer than a second shows progress on stderr (stdout stays one JSON object).
    assert "steps" in progress


def test_doctor_rejects_bad_input_without_triggering(celery_worker_process):
    with pytest.raises(CommandError, match="bad doctor input: steps") as caught:
        call_command("rawr", "doctor", "--steps", "-1", stdout=io.StringIO())
    assert caught.value.returncode == 2
    assert not Run.objects.exists()
