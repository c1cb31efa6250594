"""``rawr doctor``: prove the durable runtime works end to end, and say how fast it is.

The doctor triggers the built-in ``rawr.doctor`` function exactly as any caller would
(``workflows.services.trigger``: one transaction, enqueue after commit) and then only
*watches* the run row. Whatever worker consumes the configured broker executes it; if
none does, the doctor says so instead of running the function itself, because a doctor
that executes in-process would pass with the broker or the workers down.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from kombu.utils.url import maybe_sanitize_url

from rawr_site.contract.errors import RawrError
from workflows.builtin import DOCTOR_FUNCTION_ID
from workflows.diagnostics import RunProgress, RunTimings, run_progress, run_timings
from workflows.models import Run, RunStatus

PRINCIPAL = "system:doctor"
WORKER_HINT = "is a worker running? `celery -A rawr_site worker`"

#: How often the run row is read while waiting (the figures come from the worker's own
#: timestamps, so this only bounds how late the doctor notices the end).
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class DoctorResult:
    """What the doctor saw. ``ok`` is true only for a completed run."""

    ok: bool
    status: str
    reason: str
    run_id: str
    timings: RunTimings | None
    waited_seconds: float
    broker_connect_ms: float | None = None

    def as_json(self) -> dict[str, Any]:
        figures = (
            self.timings.as_json()
            if self.timings is not None
            else {
                "runId": self.run_id,
                "status": self.status,
                "triggerToStartMs": None,
                "perStepOverheadMs": None,
                "totalMs": None,
                "steps": 0,
            }
        )
        return {
            **figures,
            "ok": self.ok,
            "status": self.status,
            "reason": self.reason,
            "waitedMs": round(self.waited_seconds * 1000, 1),
            "brokerConnectMs": _round(self.broker_connect_ms),
            **environment(),
        }


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def environment() -> dict[str, str]:
    """Where the doctor ran: database vendor/name and broker (credentials masked)."""
    return {
        "database": f"{connection.vendor}:{connection.settings_dict['NAME']}",
        "broker": str(maybe_sanitize_url(settings.CELERY_BROKER_URL)),
    }


def default_timeout(*, steps: int, step_sleep: float) -> float:
    """30 s for the worker to pick the run up and finish, plus the steps' own work."""
    return 30.0 + steps * step_sleep


def doctor_check(
    *,
    steps: int,
    step_sleep: float,
    timeout: float,
    on_progress: Callable[[RunProgress, float], None] | None = None,
) -> DoctorResult:
    """Trigger ``rawr.doctor`` and wait up to ``timeout`` seconds for it to finish.

    ``on_progress(progress, elapsed_seconds)`` is called after every poll. A run still
    active at the deadline is cancelled (a queued one would otherwise run whenever a
    worker appears, long after anyone looks at it). Raises ``RawrError`` (400) for an
    input the function rejects.
    """
    try:
        connect_ms = broker_warm_up()
    except Exception as exc:  # kombu's OperationalError, or the transport's own errors
        broker = maybe_sanitize_url(settings.CELERY_BROKER_URL)
        return DoctorResult(
            False, "broker-unreachable", f"cannot reach the broker {broker}: {exc}", "", None, 0.0
        )
    run = _trigger(steps=steps, step_sleep=step_sleep)
    begun = time.monotonic()
    progress = RunProgress(status=RunStatus.QUEUED, steps_completed=0, is_finished=False)
    while True:
        elapsed = time.monotonic() - begun
        current = run_progress(run_id=run.pk)
        if current is None:  # deleted under our feet (e.g. a data reset)
            return DoctorResult(
                False, "missing", f"run {run.pk} disappeared", run.pk, None, elapsed
            )
        progress = current
        if on_progress is not None:
            on_progress(progress, elapsed)
        if progress.is_finished or elapsed >= timeout:
            break
        time.sleep(min(POLL_SECONDS, max(0.0, timeout - elapsed)))
    waited = time.monotonic() - begun
    if not progress.is_finished:
        result = _timed_out(run.pk, progress, steps=steps, timeout=timeout, waited=waited)
    else:
        run.refresh_from_db()
        ok = run.status == RunStatus.COMPLETED
        result = DoctorResult(
            ok,
            run.status,
            "completed" if ok else _failure_reason(run),
            run.pk,
            run_timings(run=run, step_sleep=step_sleep),
            waited,
        )
    return dataclasses.replace(result, broker_connect_ms=connect_ms)


def broker_warm_up() -> float:
    """Load Celery's app and open the producer's broker connection; returns milliseconds.

    A fresh process pays ~100-200 ms for this on its first publish (app finalisation,
    result backend import, connection, queue declaration). A web process has paid it
    long before, so the doctor pays it before the clock starts, and fails fast with the
    broker's own error when the broker cannot be reached at all.
    """
    from rawr_site.celery import app

    begun = time.perf_counter()
    app.finalize(auto=True)
    _ = app.backend
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)
        producer.maybe_declare(app.amqp.queues[app.conf.task_default_queue])
    return (time.perf_counter() - begun) * 1000


def _trigger(*, steps: int, step_sleep: float) -> Run:
    from workflows.services import trigger

    return trigger(
        DOCTOR_FUNCTION_ID,
        {"steps": steps, "step_sleep": step_sleep},
        principal=PRINCIPAL,
        correlation_id=f"doctor-{uuid.uuid4().hex[:12]}",
    ).run


def _timed_out(
    run_id: str, progress: RunProgress, *, steps: int, timeout: float, waited: float
) -> DoctorResult:
    from workflows.services import run_cancel

    if progress.status == RunStatus.QUEUED and progress.steps_completed == 0:
        reason = f"no worker picked the run up within {timeout:g}s — {WORKER_HINT}"
    else:
        reason = (
            f"run did not finish within {timeout:g}s: still {progress.status} with "
            f"{progress.steps_completed}/{steps} steps completed"
        )
    try:
        run_cancel(run_id=run_id, by=PRINCIPAL)
        reason += f" (run {run_id} cancelled)"
    except RawrError as exc:  # it finished (or was cancelled) between the poll and now
        if exc.code != "RUN_NOT_CANCELLABLE":
            raise
    run = Run.objects.get(pk=run_id)
    timings = run_timings(run=run)
    return DoctorResult(False, "timeout", reason, run_id, timings, waited)


def _failure_reason(run: Run) -> str:
    if run.status == RunStatus.CANCELLED:
        return f"run was cancelled by {run.cancelled_by or 'someone'}"
    error = run.error or {}
    code = error.get("code", "UNKNOWN")
    step = f" in step {error['stepId']}" if error.get("stepId") else ""
    return f"run failed{step}: {code}: {error.get('message', 'no message')}"
