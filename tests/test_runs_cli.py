"""``manage.py rawr runs`` and ``rawr sweep``, as an operator uses them.

Runs are triggered and executed with the runtime's in-process dispatch (the same engine,
messages kept in ``workflows.testing.pending`` instead of the broker), so what ``sweep``
re-sends is visible without a worker.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from workflows import testing, trigger
from workflows.builtin import DOCTOR_FUNCTION_ID
from workflows.models import Run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_dispatch")]


def _rawr(*args: str) -> str:
    out = io.StringIO()
    call_command("rawr", *args, stdout=out)
    return out.getvalue()


def _doctor_run(steps: int = 2, *, execute: bool = True) -> Run:
    run = trigger(DOCTOR_FUNCTION_ID, {"steps": steps}, principal="test").run
    if execute:
        testing.drain()
    else:
        testing.clear()  # the message "got lost": only the row remains
    run.refresh_from_db()
    return run


def test_runs_lists_the_newest_first_with_status_steps_and_duration() -> None:
    older = _doctor_run(steps=2)
    newer = _doctor_run(steps=3)
    queued = _doctor_run(execute=False)

    lines = _rawr("runs").splitlines()

    assert lines[0].split()[:5] == ["ID", "FUNCTION", "STATUS", "STEPS", "TRIES"]
    assert [line.split()[0] for line in lines[1:]] == [queued.pk, newer.pk, older.pk]
    assert lines[1].split()[1:5] == ["rawr.doctor", "queued", "0", "0"]
    assert lines[2].split()[1:5] == ["rawr.doctor", "completed", "3", "1"]
    assert " ms" in lines[2]


def test_runs_json_filters_by_status_function_and_limit() -> None:
    done = [_doctor_run(steps=1) for _ in range(3)]
    queued = _doctor_run(execute=False)

    completed = json.loads(_rawr("runs", "--status", "completed", "--json"))
    assert [row["id"] for row in completed] == [run.pk for run in reversed(done)]
    assert completed[0]["stepsCompleted"] == 1
    assert completed[0]["durationMs"] is not None
    assert completed[0]["error"] is None

    limited = json.loads(_rawr("runs", "--status", "queued", "completed", "--limit", "2", "--json"))
    assert [row["id"] for row in limited] == [queued.pk, done[-1].pk]

    assert json.loads(_rawr("runs", "--function", "no.such.function", "--json")) == []
    assert _rawr("runs", "--function", "no.such.function").strip() == "no runs"


def test_runs_shows_why_a_run_failed() -> None:
    run = _doctor_run(execute=False)
    Run.objects.filter(pk=run.pk).update(
        status="failed", error={"code": "STEP_ERROR", "message": "boom", "traceback": "..."}
    )

    [row] = json.loads(_rawr("runs", "--status", "failed", "--json"))

    assert row["error"] == {"code": "STEP_ERROR", "message": "boom"}
    assert "STEP_ERROR" in _rawr("runs", "--status", "failed")


def test_runs_rejects_an_unknown_status() -> None:
    with pytest.raises(CommandError, match="unknown status") as caught:
        _rawr("runs", "--status", "finished")
    assert caught.value.returncode == 2


def test_sweep_re_enqueues_a_queued_run_whose_message_is_stale() -> None:
    stale = _doctor_run(execute=False)
    fresh = _doctor_run(execute=False)
    finished = _doctor_run(steps=1)
    long_ago = timezone.now() - timedelta(minutes=10)
    Run.objects.filter(pk__in=[stale.pk, finished.pk]).update(enqueued_at=long_ago)

    assert _rawr("sweep").strip() == "re-enqueued 1 run(s)"

    assert [run_id for run_id, _eta in testing.pending] == [stale.pk]
    stale.refresh_from_db()
    assert stale.enqueued_at > long_ago
    # The re-sent message is a real one: executing it completes the run.
    testing.drain()
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == ("completed", "queued")


def test_sweep_again_right_away_sends_nothing_and_grace_is_an_option() -> None:
    run = _doctor_run(execute=False)
    Run.objects.filter(pk=run.pk).update(enqueued_at=timezone.now() - timedelta(minutes=10))

    assert json.loads(_rawr("sweep", "--json")) == {"reEnqueued": 1}
    assert json.loads(_rawr("sweep", "--json")) == {"reEnqueued": 0}
    # With no grace at all, a run whose message went out a moment ago is due again.
    assert json.loads(_rawr("sweep", "--grace", "0", "--json")) == {"reEnqueued": 1}
    assert [run_id for run_id, _eta in testing.pending] == [run.pk, run.pk]


# -- rawr doctor without a worker (the e2e tests cover the real one) -----------------------
def test_doctor_without_a_worker_times_out_says_why_and_cancels_its_run() -> None:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"no worker picked the run up within 0\.3s") as caught:
        call_command("rawr", "doctor", "--timeout", "0.3", "--json", stdout=out, stderr=err)

    assert caught.value.returncode == 3
    assert "celery -A rawr_site worker" in str(caught.value)
    report = json.loads(out.getvalue())
    assert (report["ok"], report["status"], report["triggerToStartMs"]) == (False, "timeout", None)
    run = Run.objects.get(pk=report["runId"])
    assert (run.status, run.cancelled_by) == ("cancelled", "system:doctor")


def test_doctor_reports_a_failed_run_with_its_error(monkeypatch) -> None:
    from workflows import NonRetriableError, builtin
    from workflows.doctor import doctor_check

    def broken(index: int, seconds: float) -> dict:
        raise NonRetriableError("disk on fire", code="DOCTOR_BROKEN")

    monkeypatch.setattr(builtin, "_work", broken)

    # Draining the in-process queue on every poll stands in for the worker.
    result = doctor_check(steps=2, step_sleep=0, timeout=10, on_progress=lambda *_: testing.drain())

    assert (result.ok, result.status) == (False, "failed")
    assert (
        result.reason == "run failed in step step-0: DOCTOR_BROKEN: NonRetriableError: disk on fire"
    )
    assert result.timings is not None and result.timings.trigger_to_start_ms is not None
