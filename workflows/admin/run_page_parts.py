"""What the run page shows, computed with a bounded number of queries.

Every function here reads (never writes) and takes whatever a client managed to store: a
``None`` input, an error that is a string, a step output of megabytes, a timeline of
10,000+ rows. Nothing loads a whole timeline: the waterfall reads at most
``MAX_STEP_EVENTS`` step events, the table a page of ``TIMELINE_PAGE`` rows by ``seq``
(the ``(run, seq)`` unique index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from workflows import _registry
from workflows.admin.display import duration, exact_time, folded_json, json_text
from workflows.limits import EVENT_JSON, load_safely, preview
from workflows.models import Approval, Run, RunStatus, Step, StepStatus, TimelineEvent
from workflows.selectors import approval_pending_for_run

#: Timeline rows per page.
TIMELINE_PAGE = 50
#: Steps listed in the table (a run with more is shown in part, with a note).
MAX_STEPS = 100
#: Bars drawn in the waterfall, and step events read to draw them (an attempt is a start
#: and an outcome, so twice the bars and a margin for waits).
MAX_BARS = 300
MAX_STEP_EVENTS = 2 * MAX_BARS + 100
#: Children / replays linked from the page.
MAX_LINKED_RUNS = 20
#: JSON longer than this is cut in the page; the raw endpoint serves all of it.
MAX_INLINE_JSON_CHARS = 50_000
#: Longest error message or traceback a page shows.
ERROR_MAX_CHARS = 20_000

STEP_EVENT_TYPES = ("step.started", "step.completed", "step.failed", "run.waiting", "run.sleeping")


# -- JSON and errors ------------------------------------------------------------------------
def folded(value: Any, raw_url: str = "") -> SafeString:
    """``folded_json`` that stays small: a huge value is cut, with a link to all of it.
    Nesting below ``DISPLAY_MAX_DEPTH`` levels shows as a marker (``workflows.limits``)."""
    if value is None:
        return folded_json(None)
    value = preview(
        value,
        max_string=MAX_INLINE_JSON_CHARS,
        max_items=10_000,
        max_chars=MAX_INLINE_JSON_CHARS * 2,
    )
    text = json_text(value)
    if len(text) <= MAX_INLINE_JSON_CHARS:
        return folded_json(value)
    link = (
        format_html(' <a href="{}" target="_blank" rel="noopener">raw JSON</a>', raw_url)
        if raw_url
        else ""
    )
    return format_html(
        '<details class="rawr-json"><summary><code>{}</code> <span class="rawr-more">'
        "show first {} of {} chars</span>{}</summary><pre>{}\n… (cut)</pre></details>",
        " ".join(text[:200].split()) + "…",
        MAX_INLINE_JSON_CHARS,
        len(text),
        link,
        text[:MAX_INLINE_JSON_CHARS],
    )


@dataclass(frozen=True)
class ErrorView:
    code: str
    message: str
    step_id: str
    traceback: str
    extra: Any


def error_view(error: Any) -> ErrorView | None:
    """A stored error as code / message / traceback, whatever shape it was stored in
    (cut to a size a page can show: ``ERROR_MAX_CHARS`` per string)."""
    if error is None or error == {} or error == "":
        return None
    error = preview(error, max_string=ERROR_MAX_CHARS, max_chars=ERROR_MAX_CHARS * 4)
    if not isinstance(error, dict):
        return ErrorView(
            "", str(error) if isinstance(error, str) else json_text(error), "", "", None
        )
    code = error.get("code")
    message = error.get("message")
    traceback = error.get("traceback")
    step_id = error.get("stepId")
    extra = {k: v for k, v in error.items() if k not in ("code", "message", "traceback", "stepId")}
    return ErrorView(
        code=str(code) if code is not None else "",
        message=message
        if isinstance(message, str)
        else ("" if message is None else json_text(message)),
        step_id=str(step_id) if step_id is not None else "",
        traceback=traceback
        if isinstance(traceback, str)
        else ("" if traceback is None else json_text(traceback)),
        extra=extra or None,
    )


def error_summary(error: Any) -> str:
    view = error_view(error)
    if view is None:
        return ""
    return " ".join(part for part in (view.code, view.message) if part)[:300]


# -- what the run waits for ----------------------------------------------------------------
def pending_approval(run: Run) -> Approval | None:
    """The approval the run waits for now, if any (one indexed query); its context cut
    to what the page shows."""
    approval = approval_pending_for_run(run_id=run.pk)
    if approval is not None:
        approval.context = preview(approval.context)
    return approval


@dataclass(frozen=True)
class WaitingFor:
    """What an active run waits for, for people (``text``) and for the live JSON."""

    kind: str  # approval | event | child | sleep | retry | worker | flow
    text: str
    since: datetime | None = None
    timeout_at: datetime | None = None
    step_id: str = ""
    desk_id: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "stepId": self.step_id or None,
            "deskId": self.desk_id or None,
            "since": self.since.isoformat() if self.since else None,
            "timeoutAt": self.timeout_at.isoformat() if self.timeout_at else None,
            "sinceText": exact_time(self.since) if self.since else "",
            "timeoutText": exact_time(self.timeout_at) if self.timeout_at else "",
        }


def waiting_for(run: Run, approval: Approval | None) -> WaitingFor | None:
    """One query at most (the parked step); ``approval`` is already loaded by the caller."""
    if run.is_finished:
        return None
    if approval is not None:
        where = f" at desk {approval.desk_id}" if approval.desk_id else ""
        return WaitingFor(
            "approval",
            f"approval “{approval.title or 'approval'}”{where}",
            since=approval.created_at,
            timeout_at=approval.timeout_at,
            step_id=approval.step_id,
            desk_id=approval.desk_id,
        )
    if run.status in (RunStatus.WAITING, RunStatus.SLEEPING):
        step = (
            Step.objects.filter(run=run, status__in=[StepStatus.WAITING, StepStatus.SLEEPING])
            .only("step_id", "kind", "status", "wait_event", "wake_at", "started_at", "child_run")
            .order_by("position")
            .first()
        )
        if step is None:
            return WaitingFor("event", "its next wake-up", timeout_at=run.wake_at)
        desk = step.step_id.split("/")[1] if step.step_id.startswith("desk/") else ""
        if step.status == StepStatus.SLEEPING or step.kind == "sleep":
            return WaitingFor(
                "sleep", f"sleep {step.step_id}", step.started_at, step.wake_at, step.step_id
            )
        if step.kind == "invoke":
            return WaitingFor(
                "child",
                f"child run {step.child_run_id or '?'}",
                step.started_at,
                step.wake_at,
                step.step_id,
            )
        return WaitingFor(
            "event",
            f"event “{step.wait_event or '?'}”" + (f" at desk {desk}" if desk else ""),
            step.started_at,
            step.wake_at,
            step.step_id,
            desk,
        )
    if run.status == RunStatus.QUEUED:
        if run.waiting_reason:  # held back by flow control (throttle, concurrency, debounce)
            return WaitingFor("flow", run.waiting_reason, run.created_at, run.wake_at)
        if run.wake_at is not None and run.wake_at > timezone.now():
            return WaitingFor("retry", "its retry", run.created_at, run.wake_at)
        return WaitingFor("worker", "a worker to pick it up", run.enqueued_at or run.created_at)
    return None


# -- step waterfall -----------------------------------------------------------------------------
OUTCOME_COLOURS = {
    "completed": "#2f855a",
    "failed": "#c53030",
    "retried": "#dd6b20",
    "running": "#0b6bcb",
    "waiting": "#b7791f",
    "sleeping": "#b7791f",
    "interrupted": "#718096",
}


@dataclass
class Bar:
    step_id: str
    attempt: int
    start: datetime
    end: datetime
    outcome: str


@dataclass
class Waterfall:
    svg: SafeString
    bars: int
    note: str = ""
    legend: list[tuple[str, str]] = field(default_factory=list)


def _bars(run: Run, steps: list[Step], now: datetime) -> tuple[list[Bar], bool]:
    """Attempts from ``step.*`` events; steps without such events from their own row."""
    events = list(
        TimelineEvent.objects.filter(run=run, type__in=STEP_EVENT_TYPES)
        .exclude(step_id="")
        .order_by("seq")
        .values_list("type", "step_id", "created_at", "payload__final")[: MAX_STEP_EVENTS + 1]
    )
    cut = len(events) > MAX_STEP_EVENTS
    events = events[:MAX_STEP_EVENTS]
    end_of_run = run.finished_at or now
    by_id = {step.step_id: step for step in steps}
    open_at: dict[str, datetime] = {}
    attempts: dict[str, int] = {}
    bars: list[Bar] = []
    for type_, step_id, at, final in events:
        if type_ in ("step.started", "run.waiting", "run.sleeping"):
            open_at.setdefault(step_id, at)
            continue
        start = open_at.pop(step_id, None)
        if start is None:
            step = by_id.get(step_id)
            start = (step.started_at if step is not None else None) or at
        attempts[step_id] = attempts.get(step_id, 0) + 1
        if type_ == "step.completed":
            outcome = "completed"
        else:
            # ``final`` marks the failure that failed the step; earlier ones were retried.
            outcome = "failed" if final is True else "retried"
        bars.append(Bar(step_id, attempts[step_id], start, max(at, start), outcome))
    for step_id, start in open_at.items():
        step = by_id.get(step_id)
        status = step.status if step is not None else "running"
        if run.is_finished and status in (
            StepStatus.RUNNING,
            StepStatus.WAITING,
            StepStatus.SLEEPING,
        ):
            status = "interrupted"
        attempts[step_id] = attempts.get(step_id, 0) + 1
        bars.append(Bar(step_id, attempts[step_id], start, max(end_of_run, start), status))
    drawn = {bar.step_id for bar in bars}
    for step in steps:  # quiet steps (timeline-only records) and rows older than the events
        if step.step_id in drawn or step.started_at is None:
            continue
        status = step.status
        end = step.finished_at
        if end is None:
            end = end_of_run
            if run.is_finished and status != StepStatus.COMPLETED:
                status = "interrupted"
        bars.append(
            Bar(
                step.step_id,
                max(step.attempts, 1),
                step.started_at,
                max(end, step.started_at),
                status,
            )
        )
    bars.sort(key=lambda bar: bar.start)
    return bars, cut


def _axis_label(seconds: float) -> str:
    return "0" if seconds <= 0 else duration(seconds)


def waterfall(run: Run, steps: list[Step], now: datetime | None = None) -> Waterfall:
    """Server-rendered SVG: one row per step, one bar per attempt, to scale in time."""
    now = now or timezone.now()
    bars, cut = _bars(run, steps, now)
    note = ""
    if cut:
        note = f"Drawn from the first {MAX_STEP_EVENTS} step events."
    if len(bars) > MAX_BARS:
        note = f"Showing the first {MAX_BARS} of {len(bars)} step attempts."
        bars = bars[:MAX_BARS]
    if not bars:
        return Waterfall(svg=SafeString(""), bars=0, note="No step has started yet.")
    origin = min([run.started_at or bars[0].start, bars[0].start, run.created_at or bars[0].start])
    origin = min(origin, bars[0].start)
    finish = max([bar.end for bar in bars] + [run.finished_at or bars[-1].end])
    total = max((finish - origin).total_seconds(), 0.001)

    rows: dict[str, int] = {}
    for bar in bars:
        rows.setdefault(bar.step_id, len(rows))
    # Labels and the time axis are HTML at their natural size; the bars are an SVG stretched
    # to the width available (x in per mille of the run's span), so text never shrinks.
    row_h = 16
    height = row_h * len(rows)

    def x(at: datetime) -> float:
        return 1000 * (at - origin).total_seconds() / total

    tick = _nice_step(total / 5)
    ticks = [i * tick for i in range(min(math.floor(total / tick) + 1, 12))]
    axis = format_html_join(
        "",
        '<span class="wf-tick" style="left:{}%">{}</span>',
        ((f"{100 * seconds / total:.2f}", _axis_label(seconds)) for seconds in ticks),
    )
    grid = format_html_join(
        "",
        '<line x1="{0}" x2="{0}" y1="0" y2="{1}" class="wf-grid"/>',
        ((f"{1000 * seconds / total:.1f}", height) for seconds in ticks),
    )
    labels = format_html_join(
        "",
        '<div class="wf-label" title="{}">{}</div>',
        (
            (step_id, step_id if len(step_id) <= 40 else step_id[:18] + "…" + step_id[-18:])
            for step_id in rows
        ),
    )
    rects = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" '
        'class="wf-bar" data-step-id="{}" data-outcome="{}"><title>{} · attempt {} · '
        "{} · {} (from {} to {})</title></rect>",
        (
            (
                f"{x(bar.start):.2f}",
                rows[bar.step_id] * row_h + 3,
                f"{max(x(bar.end) - x(bar.start), 2.5):.2f}",
                row_h - 6,
                OUTCOME_COLOURS.get(bar.outcome, "#718096"),
                bar.step_id,
                bar.outcome,
                bar.step_id,
                bar.attempt,
                bar.outcome,
                duration(bar.end - bar.start),
                exact_time(bar.start),
                exact_time(bar.end),
            )
            for bar in bars
        ),
    )
    svg = format_html(
        '<div class="wf"><div class="wf-axis">{}</div><div class="wf-body">'
        '<div class="wf-labels">{}</div><svg class="wf-svg" viewBox="0 0 1000 {}" '
        'preserveAspectRatio="none" width="100%" height="{}" role="img" '
        'aria-label="Step waterfall">{}{}</svg></div></div>',
        axis,
        labels,
        height,
        height,
        grid,
        rects,
    )
    outcomes = sorted({bar.outcome for bar in bars})
    legend = [(name, OUTCOME_COLOURS.get(name, "#718096")) for name in outcomes]
    return Waterfall(svg=svg, bars=len(bars), note=note, legend=legend)


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


# -- timeline page ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]
    number: int
    pages: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def timeline_page(run: Run, number: Any) -> TimelinePage:
    """Page ``number`` (1-based) of the run's timeline, 50 rows by ``seq``.

    ``seq`` is gapless per run (``next_seq`` hands out 1, 2, 3 ...), so page ``n`` starts
    after ``seq = (n - 1) * 50``: a range read on the ``(run, seq)`` index whatever the
    page, and the page count comes from ``next_seq`` without ``COUNT(*)``.
    """
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    known = max(run.next_seq - 1, 0)
    pages = max(1, math.ceil(known / TIMELINE_PAGE))
    number = min(number, max(pages, 1)) if known else 1
    rows = load_safely(
        TimelineEvent.objects.filter(run=run, seq__gt=(number - 1) * TIMELINE_PAGE)
        .order_by("seq")
        .only("seq", "type", "step_id", "payload", "created_at", "run_id"),
        *EVENT_JSON,
        limit=TIMELINE_PAGE + 1,
    )
    for row in rows:  # shown, not edited: a cut copy of each payload
        row.payload = preview(row.payload)
    has_next = len(rows) > TIMELINE_PAGE
    return TimelinePage(rows[:TIMELINE_PAGE], number, max(pages, number + int(has_next)), has_next)


def timeline_after(run: Run, after_seq: int, limit: int = TIMELINE_PAGE) -> tuple[list, bool]:
    """Up to ``limit`` events after ``after_seq`` (the live tail), and whether more follow."""
    rows = list(
        TimelineEvent.objects.filter(run=run, seq__gt=after_seq)
        .order_by("seq")
        .values_list("seq", "type", "step_id", "created_at")[: limit + 1]
    )
    events = [
        {"seq": seq, "type": type_, "stepId": step_id, "time": exact_time(at)}
        for seq, type_, step_id, at in rows[:limit]
    ]
    return events, len(rows) > limit


# -- linked runs -----------------------------------------------------------------------------------
def linked(runs: QuerySet[Run]) -> tuple[list[Run], bool]:
    rows = list(
        runs.order_by("-created_at").only("id", "function_id", "status", "created_at")[
            : MAX_LINKED_RUNS + 1
        ]
    )
    return rows[:MAX_LINKED_RUNS], len(rows) > MAX_LINKED_RUNS


# -- input schema ----------------------------------------------------------------------------
def input_schema(function_id: str) -> dict[str, Any] | None:
    """The function's input JSON Schema (from its pydantic model), if it declares one."""
    function = _registry.get_function(function_id)
    if function is None or function.input_model is None:
        return None
    try:
        return function.input_model.model_json_schema()
    except Exception:  # a model pydantic cannot express as JSON Schema: no client-side check
        return None


def run_duration(run: Run, now: datetime | None = None) -> str:
    start = run.started_at or run.created_at
    if start is None:
        return "-"
    end = run.finished_at or (now or timezone.now())
    suffix = "" if run.finished_at else " so far"
    return duration(max(end - start, timedelta(0))) + suffix
