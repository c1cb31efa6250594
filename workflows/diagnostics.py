"""Read-only views of runs for operators: listings, progress and timing figures.

Selectors in the HackSoft sense: they never write. ``rawr runs``, ``rawr doctor`` and
``bench/workflow_overhead.py`` read runs through these, so the figures they quote are
computed one way.

Timing figures come from timestamps the runtime already writes (``Run.created_at`` and
``TimelineEvent.created_at``). The trigger stamps the first, the worker the others, so
they are only comparable when both clocks agree (same machine, or NTP-synchronised hosts).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count

from workflows.models import FINISHED_STATUSES, Run, RunStatus, Step, StepStatus, TimelineEvent

FINAL_EVENTS = ("run.completed", "run.failed", "run.cancelled")


def recent_runs(
    *,
    statuses: Iterable[str] | None = None,
    function_id: str | None = None,
    limit: int = 20,
) -> list[Run]:
    """The most recent runs first, each with ``steps_completed`` set.

    Two queries: the page of runs (an index scan on ``created_at``), then the step counts
    of just those runs; a single annotated query would aggregate every run's steps before
    the LIMIT applies.
    """
    runs = Run.objects.all()
    statuses = list(statuses or [])
    if statuses:
        runs = runs.filter(status__in=statuses)
    if function_id:
        runs = runs.filter(function_id=function_id)
    page = list(runs.order_by("-created_at", "-pk")[:limit])
    counts = dict(
        Step.objects.filter(run_id__in=[run.pk for run in page], status=StepStatus.COMPLETED)
        .values_list("run_id")
        .annotate(done=Count("id"))
        .values_list("run_id", "done")
    )
    for run in page:
        run.steps_completed = counts.get(run.pk, 0)
    return page


def unknown_statuses(statuses: Iterable[str]) -> list[str]:
    return [status for status in statuses if status not in RunStatus.values]


@dataclass(frozen=True)
class RunProgress:
    status: str
    steps_completed: int
    is_finished: bool


def run_progress(*, run_id: str) -> RunProgress | None:
    """Status and completed-step count of a run (two cheap queries), ``None`` if missing."""
    status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
    if status is None:
        return None
    done = Step.objects.filter(run_id=run_id, status=StepStatus.COMPLETED).count()
    return RunProgress(status=status, steps_completed=done, is_finished=status in FINISHED_STATUSES)


@dataclass(frozen=True)
class RunTimings:
    """Where the time of one run went, in milliseconds.

    * ``trigger_to_start_ms``: ``run.started`` - ``Run.created_at`` (commit, broker,
      worker pick-up and claim);
    * ``execution_ms``: ``run.started`` → the last ``step.completed`` (the steps, with
      their two bookkeeping transactions each);
    * ``per_step_overhead_ms``: (``execution_ms`` - steps x ``step_sleep``) / steps, i.e.
      what the runtime adds to each step beyond the work itself;
    * ``finish_ms``: last ``step.completed`` → final event (return value, ``run.completed``);
    * ``total_ms``: ``Run.created_at`` → final event.

    A field is ``None`` when the run has not reached the event it needs.
    """

    run_id: str
    status: str
    steps: int
    step_sleep: float
    trigger_to_start_ms: float | None
    execution_ms: float | None
    per_step_overhead_ms: float | None
    finish_ms: float | None
    total_ms: float | None
    step_ms_median: float | None
    step_ms_max: float | None
    executions: int
    worker: str

    def as_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "status": self.status,
            "steps": self.steps,
            "stepSleep": self.step_sleep,
            "triggerToStartMs": _round(self.trigger_to_start_ms),
            "perStepOverheadMs": _round(self.per_step_overhead_ms),
            "executionMs": _round(self.execution_ms),
            "finishMs": _round(self.finish_ms),
            "totalMs": _round(self.total_ms),
            "stepMsMedian": _round(self.step_ms_median),
            "stepMsMax": _round(self.step_ms_max),
            "executions": self.executions,
            "worker": self.worker,
        }


def run_timings(*, run: Run, step_sleep: float = 0.0) -> RunTimings:
    """Timing figures of ``run`` from its timeline (see ``RunTimings``).

    ``step_sleep`` is the time each step spends in its own work, subtracted from the
    per-step figure; 0 for runs whose steps do (next to) nothing.
    """
    events = list(
        TimelineEvent.objects.filter(run_id=run.pk)
        .order_by("seq")
        .values_list("type", "step_id", "payload", "created_at")
    )
    started_at: datetime | None = None
    worker = ""
    executions = 0
    final_at: datetime | None = None
    last_step_done: datetime | None = None
    step_started: dict[str, datetime] = {}
    step_spans: list[float] = []
    for type_, step_id, payload, at in events:
        if type_ in ("run.started", "run.resumed") and "worker" in (payload or {}):
            executions += 1
            worker = payload["worker"]
            if started_at is None:
                started_at = at
        elif type_ == "step.started":
            step_started[step_id] = at
        elif type_ == "step.completed":
            last_step_done = at
            if step_id in step_started:
                step_spans.append(_ms(step_started[step_id], at))
        elif type_ in FINAL_EVENTS:
            final_at = at
    steps = len(step_spans)
    execution = _ms(started_at, last_step_done) if started_at and last_step_done else None
    per_step = (
        (execution - steps * step_sleep * 1000) / steps if execution is not None and steps else None
    )
    inner = [span - step_sleep * 1000 for span in step_spans]
    return RunTimings(
        run_id=run.pk,
        status=run.status,
        steps=steps,
        step_sleep=step_sleep,
        trigger_to_start_ms=_ms(run.created_at, started_at) if started_at else None,
        execution_ms=execution,
        per_step_overhead_ms=per_step,
        finish_ms=_ms(last_step_done or started_at, final_at)
        if final_at and (last_step_done or started_at)
        else None,
        total_ms=_ms(run.created_at, final_at) if final_at else None,
        step_ms_median=statistics.median(inner) if inner else None,
        step_ms_max=max(inner) if inner else None,
        executions=executions,
        worker=worker,
    )


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
