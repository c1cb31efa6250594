"""The step API (``step.run / sleep / wait_for_event / wait_for_approval / send_event /
invoke``): memoizing steps and recording each one with the run's state, atomically.

Below ``_engine`` (which runs the body) and ``services``; starting child runs and sending
events go through ``_triggers``, shared with the public API.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from workflows import _enqueue, _registry, _sql, clock
from workflows._lease import LeaseKeeper, lease_until
from workflows._state import Ev, append, locked_run
from workflows._transitions import (
    cancel_running,
    close_approvals,
    create_approval,
    fail_run,
    pending_approval,
    public_error,
    queue_retry,
)
from workflows._triggers import event_send, trigger
from workflows.codes import RunErrorCode
from workflows.errors import (
    ChildRunFailed,
    NonDeterminismError,
    NonRetriableError,
    RetryAfter,
    StepOutputNotJSON,
    _Stop,
    _Suspend,
)
from workflows.limits import StepOutputLimitExceeded, check_event_payload, json_limit_problem
from workflows.models import ApprovalStatus, Run, RunStatus, Step, StepKind, StepStatus


# -- the step API -----------------------------------------------------------------------
class StepAPI:
    """``step`` as a durable function sees it. Every method takes a stable ``step_id``.

    Control-flow exceptions (``_Suspend``/``_Stop``) are always raised *after* the
    transaction that recorded the state change has committed.
    """

    def __init__(
        self,
        run: Run,
        function: _registry.DurableFunction,
        worker: str,
        keeper: LeaseKeeper | None = None,
        *,
        steps: list[Step] | None = None,
    ) -> None:
        self._run = run
        self._function = function
        self._worker = worker
        self._keeper = keeper
        # The memo a replay reads from: loaded by the claim, or here in one query.
        recorded = steps if steps is not None else list(run.steps.all())
        self._steps: dict[str, Step] = {s.step_id: s for s in recorded}
        self._recorded_at = {s.position: s.step_id for s in self._steps.values()}
        self._position = 0
        self._seen: set[str] = set()
        #: ``step.started`` of the step in flight, written with its outcome.
        self._pending_start: Ev | None = None

    # public -----------------------------------------------------------------------
    def run(self, step_id: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` once; later replays return its stored (JSON) output."""
        return self.run_with(step_id, lambda: fn(*args, **kwargs))

    def run_with(
        self,
        step_id: str,
        fn: Callable[[], Any],
        *,
        retries: int | None = None,
        events: Callable[[str, Any], Ev | None] | None = None,
    ) -> Any:
        """``run`` with per-step options.

        ``retries`` overrides the function's retry count for this step. ``events(outcome,
        value)`` may return an extra timeline event written in the same transaction as the
        step's completion (``outcome="completed"``, value = output) or its final failure
        (``"failed"``, value = the error dict) — e.g. coordination's ``desk.completed``.
        """
        step = self._enter(step_id, StepKind.RUN)
        if step is not None and step.status == StepStatus.COMPLETED:
            return step.output
        if step is not None and step.status == StepStatus.FAILED:
            raise NonRetriableError(
                f"step {step_id!r} failed permanently", code=RunErrorCode.STEP_FAILED
            )
        step = self._start(step_id, StepKind.RUN, existing=step)
        try:
            output = fn()
            text = storable(step_id, output)
        except Exception as exc:  # every failure of user code is recorded on the step
            self._step_failed(step, exc, retries=retries, events=events)
        extra = events("completed", output) if events is not None else None
        self._finish_step(step, output, text=text, extra=extra)
        return output

    def record(self, step_id: str, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A step that only writes a timeline event ``event_type`` (once per run)."""
        step = self._enter(step_id, StepKind.RUN)
        if step is not None and step.status == StepStatus.COMPLETED:
            return step.output
        step = self._start(step_id, StepKind.RUN, existing=step, quiet=True)
        check_event_payload(payload, what=f"record {step_id}")
        text = ensure_json(step_id, payload)
        self._finish_step(
            step, payload, text=text, extra=Ev(event_type, step_id, payload), quiet=True
        )
        return payload

    def sleep(
        self, step_id: str, seconds: float | None = None, *, until: datetime | None = None
    ) -> None:
        """Park the run until the time is up; the worker is free meanwhile."""
        if (seconds is None) == (until is None):
            raise ValueError("step.sleep needs exactly one of seconds= or until=")
        step = self._enter(step_id, StepKind.SLEEP)
        if step is not None and step.status == StepStatus.COMPLETED:
            return None
        if step is not None and step.wake_at is not None and step.wake_at <= clock.now():
            self._finish_step(step, None)
            return None
        if step is not None:
            self._park(
                step,
                RunStatus.SLEEPING,
                step.wake_at,
                Ev("run.sleeping", step_id, {"until": _iso(step.wake_at)}),
            )
            return None
        wake = until if until is not None else clock.now() + timedelta(seconds=float(seconds))
        self._park_new(
            step_id,
            StepKind.SLEEP,
            RunStatus.SLEEPING,
            wake_at=wake,
            event=Ev("run.sleeping", step_id, {"until": _iso(wake)}),
        )
        return None

    def wait_for_event(
        self,
        step_id: str,
        event: str,
        *,
        match: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Park until ``send_event(event, data)`` with ``data`` matching ``match`` arrives.

        Returns ``{"id", "name", "data"}`` of the event, or ``None`` after ``timeout``
        seconds. ``match`` maps dotted paths in the event data to the values they must
        equal, e.g. ``{"orderId": "o-1"}``. Only events sent after the wait began count.
        """
        step = self._enter(step_id, StepKind.WAIT)
        if step is not None and step.status == StepStatus.COMPLETED:
            return step.output
        now = clock.now()
        if step is not None:
            # The step row may have changed since this execution loaded it (an event can
            # land while the body replays): decide on the locked, fresh row.
            fresh = self._park(
                step,
                RunStatus.WAITING,
                step.wake_at,
                Ev("run.waiting", step_id, {"event": event}),
                time_out=step.wake_at is not None and step.wake_at <= now,
            )
            return fresh.output
        wake = now + timedelta(seconds=float(timeout)) if timeout is not None else None
        self._park_new(
            step_id,
            StepKind.WAIT,
            RunStatus.WAITING,
            wake_at=wake,
            wait_event=event,
            wait_match=match or {},
            event=Ev(
                "run.waiting",
                step_id,
                {"event": event, "match": match or {}, "timeoutAt": _iso(wake)},
            ),
        )
        return None

    def wait_for_approval(
        self,
        step_id: str,
        *,
        title: str,
        context: Any = None,
        timeout: float | None = None,
        workflow_id: str = "",
        desk_id: str = "",
    ) -> dict[str, Any] | None:
        """Park until a person approves or rejects; returns the decision.

        Returns ``{"decision": "approve" | "reject", "payload": ..., "decidedBy": ...}``
        once someone decides (``workflows.services.approval_decide``, the approvals API or
        inbox), or ``None`` after ``timeout`` seconds (like ``wait_for_event``; the approval
        is then ``expired``). The ``Approval`` row is written in the same transaction as the
        run goes waiting, so the inbox never shows a wait that is not parked, nor misses one.
        ``context`` (any JSON) is what the person decides on; ``workflow_id`` / ``desk_id``
        are optional labels (coordination's human-wait desks set them).

        A rejection is a normal return: the function decides what it means.
        """
        if not isinstance(title, str) or not title.strip():
            raise NonRetriableError(
                "wait_for_approval needs a title", code=RunErrorCode.INVALID_APPROVAL
            )
        try:
            json.dumps(context, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise NonRetriableError(
                f"the context of approval {step_id!r} is not JSON: {exc}",
                code=RunErrorCode.INVALID_APPROVAL,
            ) from exc
        step = self._enter(step_id, StepKind.APPROVAL)
        if step is not None and step.status == StepStatus.COMPLETED:
            return step.output
        labels = {"workflow_id": str(workflow_id or ""), "desk_id": str(desk_id or "")}
        request = {"title": title[:500], "context": context, **labels}

        waiting = Ev("run.waiting", step_id, {})

        def settle(run: Run, fresh: Step, outcome: str) -> Ev | None:
            if outcome == "timed_out":
                expired = close_approvals(run, ApprovalStatus.EXPIRED, step_id=fresh.step_id)
                return expired[0] if expired else None
            pending = pending_approval(run, fresh.step_id)
            waiting.payload["approvalId"] = pending.pk if pending is not None else None
            return None

        now = clock.now()
        if step is not None:
            fresh = self._park(
                step,
                RunStatus.WAITING,
                step.wake_at,
                waiting,
                time_out=step.wake_at is not None and step.wake_at <= now,
                settle=settle,
            )
            return fresh.output
        wake = now + timedelta(seconds=float(timeout)) if timeout is not None else None

        def open_approval(run: Run) -> dict[str, Any]:
            approval = create_approval(run, step_id, wake, request)
            payload: dict[str, Any] = {"approvalId": approval.pk, "title": approval.title}
            if approval.desk_id:
                payload["deskId"] = approval.desk_id
            return {"payload": payload}

        self._park_new(
            step_id,
            StepKind.APPROVAL,
            RunStatus.WAITING,
            wake_at=wake,
            event=Ev("run.waiting", step_id, {"timeoutAt": _iso(wake)}),
            prepare=open_approval,
        )
        return None

    def send_event(self, step_id: str, name: str, data: dict[str, Any] | None = None) -> str:
        """Send an event once per run (memoized like a step); returns the event id."""
        step = self._enter(step_id, StepKind.SEND)
        if step is not None and step.status == StepStatus.COMPLETED:
            return step.output["eventId"]
        step = self._start(step_id, StepKind.SEND, existing=step)
        with transaction.atomic():
            run = self._lock_owned()
            if run is not None:
                sent = event_send(
                    name=name,
                    data=data or {},
                    sent_by=f"run:{run.pk}",
                    correlation_id=run.correlation_id,
                    capability=run.capability,
                )
                self._complete(
                    run, step, {"eventId": sent.id, "resumedRunIds": sent.resumed_run_ids}
                )
        if run is None:
            raise _Stop("ended at a step boundary")
        return sent.id

    def invoke(self, step_id: str, function_id: str, input: Any = None) -> Any:
        """Run another durable function as a child run and return its output.

        Raises ``ChildRunFailed`` if the child fails or is cancelled.
        """
        step = self._enter(step_id, StepKind.INVOKE)
        if step is not None and step.status == StepStatus.COMPLETED:
            return step.output
        if step is not None and step.status == StepStatus.FAILED:
            raise ChildRunFailed((step.error or {}).get("message", "child run failed"))
        if step is not None:
            fresh = self._park(
                step,
                RunStatus.WAITING,
                None,
                Ev("run.waiting", step_id, {"childRunId": step.child_run_id}),
            )
            if fresh.status == StepStatus.FAILED:
                raise ChildRunFailed((fresh.error or {}).get("message", "child run failed"))
            return fresh.output

        def start_child(parent: Run) -> dict[str, Any]:
            child = trigger(
                function_id,
                input,
                principal=parent.principal,
                correlation_id=parent.correlation_id,
                parent_run=parent,
                parent_step_id=step_id,
            ).run
            return {
                "child_run": child,
                "payload": {"childRunId": child.pk, "functionId": function_id},
            }

        self._park_new(
            step_id,
            StepKind.INVOKE,
            RunStatus.WAITING,
            event=Ev("run.waiting", step_id),
            prepare=start_child,
        )
        return None

    # internals --------------------------------------------------------------------
    def _enter(self, step_id: str, kind: str) -> Step | None:
        if not isinstance(step_id, str) or not step_id or len(step_id) > 255:
            raise NonRetriableError(
                f"invalid step id {step_id!r}", code=RunErrorCode.INVALID_STEP_ID
            )
        if step_id in self._seen:
            raise NonDeterminismError(f"step id {step_id!r} is used twice in one run")
        self._seen.add(step_id)
        position = self._position
        self._position += 1
        recorded = self._recorded_at.get(position)
        if recorded is not None and recorded != step_id:
            raise NonDeterminismError(
                f"step #{position + 1} was {recorded!r} when the run first executed it, "
                f"but this execution reached {step_id!r}: the function is not deterministic"
            )
        step = self._steps.get(step_id)
        if step is not None and step.position != position:
            raise NonDeterminismError(
                f"step {step_id!r} was step #{step.position + 1} and is now #{position + 1}"
            )
        if step is not None and step.kind != kind:
            raise NonDeterminismError(f"step {step_id!r} changed kind from {step.kind} to {kind}")
        return step

    def _lock_owned(self) -> Run | None:
        """Lock the run at a step boundary.

        Raises ``_Stop`` (nothing written) if another worker holds the lease. Returns
        ``None`` after recording a cancellation or a timeout; the caller must let its
        transaction commit and then stop.
        """
        run = locked_run(self._run.pk)
        if run is None or run.lease_owner != self._worker or run.status != RunStatus.RUNNING:
            raise _Stop("lease lost")
        now = clock.now()
        if run.cancel_requested_at is not None:
            cancel_running(run, at_step_boundary=True)
            return None
        self._run = run
        if self._past_deadline(now):
            deadline = self._function.options.timeout
            fail_run(
                run,
                {
                    "code": RunErrorCode.RUN_TIMED_OUT,
                    "message": f"run exceeded its {deadline:g}s timeout",
                },
                [],
            )
            return None
        run.lease_expires_at = lease_until(now)
        return run

    def _start(
        self,
        step_id: str,
        kind: str,
        *,
        existing: Step | None,
        quiet: bool = False,
    ) -> Step:
        """A step begins: nothing is written (its outcome is, with its ``step.started``).

        A step that did not finish simply runs again (at-least-once). Executions that died
        are counted on the run (``interruptions``, reset by every recorded outcome); by
        determinism they died at the first step they had not finished, this one. Such
        interruptions do not use up the function's retries, but a step interrupted
        ``RAWR_STEP_MAX_INTERRUPTIONS`` times (it kills its worker every time) fails the
        run with ``STEP_CRASHED`` instead of looping forever.
        """
        now = clock.now()
        if existing is None:
            existing = Step(
                run_id=self._run.pk,
                step_id=step_id,
                position=self._position - 1,
                kind=kind,
                status=StepStatus.RUNNING,
            )
        if self._past_deadline(now):
            with transaction.atomic():
                self._lock_owned()  # records RUN_TIMED_OUT
            raise _Stop("ended at a step boundary")
        existing.started_at = existing.started_at or now
        existing.starts = existing.attempts + self._run.interruptions + 1
        if self._run.interruptions >= int(settings.RAWR_STEP_MAX_INTERRUPTIONS):
            self._crashed(existing, self._run.interruptions)
        started = Ev("step.started", step_id, {"attempt": existing.attempts + 1}, at=now)
        self._pending_start = None if quiet else started
        if self._keeper is not None and not quiet:
            self._keeper.step_began(existing, started)
        return existing

    def _crashed(self, step: Step, interruptions: int) -> None:
        with transaction.atomic():
            run = self._lock_owned()
            if run is not None:
                step.status = StepStatus.FAILED
                step.finished_at = clock.now()
                step.error = {
                    "code": RunErrorCode.STEP_CRASHED,
                    "stepId": step.step_id,
                    "message": f"step {step.step_id!r} was interrupted {interruptions} times "
                    "(its worker died or was killed while running it)",
                }
                _save_step(step)
                fail_run(
                    run,
                    step.error,
                    [Ev("step.failed", step.step_id, {"error": step.error, "final": True})],
                )
        raise _Stop("failed" if run is not None else "ended at a step boundary")

    def _take_start(self) -> Ev | None:
        """The in-flight step's ``step.started`` to write with its outcome, unless the lease
        keeper already wrote it (the step outlived the record threshold)."""
        started, self._pending_start = self._pending_start, None
        recorded = self._keeper.step_ended() if self._keeper is not None else False
        return None if recorded else started

    def _outcome_events(
        self, step: Step, event_type: str, extra: Ev | None, quiet: bool
    ) -> list[Ev]:
        started = self._take_start()
        events = [] if quiet or started is None else [started]
        if not quiet:
            events.append(Ev(event_type, step.step_id, {"attempts": step.attempts}))
        if extra is not None:
            events.append(extra)
        return events

    def _finish_step(
        self,
        step: Step,
        output: Any,
        *,
        text: str | None = None,
        event_type: str = "step.completed",
        extra: Ev | None = None,
        quiet: bool = False,
    ) -> None:
        """Record a completed step. On PostgreSQL and while the run is plainly ours (lease,
        no cancel, within its deadline) that is one statement; otherwise the locking path
        finds out what happened (cancel, timeout, lease lost) and records that instead."""
        now = clock.now()
        _mark_completed(step, output, now)
        events = self._outcome_events(step, event_type, extra, quiet)
        if _sql.available() and not self._past_deadline(now):
            written = _sql.complete_step(
                run_id=self._run.pk,
                worker=self._worker,
                now=now,
                step=step,
                output_json=text if text is not None else json.dumps(output),
                events=events,
            )
            if written is not None:
                step.pk, step._state.adding = written[0], False
                self._run.interruptions = 0
                if not written[1]:
                    return
                # Cancel requested meanwhile: the step is kept (it ran), the run stops here.
                with transaction.atomic():
                    run = self._lock_owned()
                raise _Stop("ended at a step boundary")
        with transaction.atomic():
            run = self._lock_owned()
            if run is not None:
                self._write_completed(run, step, events)
        if run is None:
            raise _Stop("ended at a step boundary")

    def _past_deadline(self, now: datetime) -> bool:
        deadline = self._function.options.timeout
        started = self._run.started_at
        return bool(deadline and started and now - started > timedelta(seconds=deadline))

    def _complete(
        self,
        run: Run,
        step: Step,
        output: Any,
        *,
        event_type: str = "step.completed",
        extra: Ev | None = None,
        quiet: bool = False,
    ) -> None:
        """Record a completed step on a run the caller locked (inside its transaction)."""
        _mark_completed(step, output, clock.now())
        self._write_completed(run, step, self._outcome_events(step, event_type, extra, quiet))

    def _write_completed(self, run: Run, step: Step, events: list[Ev]) -> None:
        _save_step(step)
        run.interruptions = 0
        append(run, events)

    def _step_failed(
        self,
        step: Step,
        exc: Exception,
        *,
        retries: int | None = None,
        events: Callable[[str, Any], Ev | None] | None = None,
    ) -> None:
        """Record the failure, then park for a retry (``_Suspend``) or stop (``_Stop``)."""
        if retries is None:
            retries = self._function.options.retries
        final = False
        started = self._take_start()
        begun = [started] if started is not None else []
        with transaction.atomic():
            run = self._lock_owned()
            if run is not None:
                step.attempts += 1
                step.error = error_dict(exc, step_id=step.step_id)
                final = isinstance(exc, NonRetriableError) or step.attempts > retries
                step.status = StepStatus.FAILED if final else StepStatus.RUNNING
                step.finished_at = clock.now() if final else None
                _save_step(step)
                run.interruptions = 0
                event = {"attempt": step.attempts, "error": public_error(step.error)}
                if final:
                    extra = events("failed", step.error) if events is not None else None
                    fail_run(
                        run,
                        step.error,
                        [
                            *begun,
                            Ev("step.failed", step.step_id, {**event, "final": True}),
                            *([extra] if extra is not None else []),
                        ],
                    )
                else:
                    delay = retry_delay(exc, self._function.options, step.attempts)
                    retried = {**event, "retryInSeconds": round(delay, 3)}
                    queue_retry(run, delay, [*begun, Ev("step.failed", step.step_id, retried)])
        if run is None or final:
            raise _Stop("failed" if run is not None else "ended at a step boundary")
        raise _Suspend()

    def _park(
        self,
        step: Step,
        status: str,
        wake_at: datetime | None,
        event: Ev,
        *,
        time_out: bool = False,
        settle: Callable[[Run, Step, str], Ev | None] | None = None,
    ) -> Step:
        """Settle an existing sleep/wait/invoke step, deciding on its locked, fresh row.

        Returns the step when it is settled (completed by an event or a child, failed by a
        child, or timed out now when ``time_out``); otherwise re-parks the run (``_Suspend``).
        Locks run, then step: the same order as ``event_send`` and ``notify_parent``.
        ``settle(run, step, "timed_out" | "parked")`` may add a timeline event to the same
        transaction (approvals expire with their step).
        """
        settled = None
        with transaction.atomic():
            run = self._lock_owned()
            if run is not None:
                fresh = Step.objects.select_for_update().get(pk=step.pk)
                if fresh.status in (StepStatus.COMPLETED, StepStatus.FAILED):
                    settled = fresh
                    append(run, [])
                elif time_out:
                    extra = settle(run, fresh, "timed_out") if settle is not None else None
                    self._complete(run, fresh, None, event_type="step.timed_out", extra=extra)
                    settled = fresh
                else:
                    extra = settle(run, fresh, "parked") if settle is not None else None
                    run.status = status
                    run.wake_at = wake_at
                    run.lease_owner, run.lease_expires_at = "", None
                    append(run, [event, *([extra] if extra is not None else [])])
                    if wake_at is not None:
                        _enqueue.enqueue_on_commit(run, eta=wake_at)
        if run is None:
            raise _Stop("ended at a step boundary")
        if settled is None:
            raise _Suspend()
        self._steps[settled.step_id] = settled
        return settled

    def _park_new(
        self,
        step_id: str,
        kind: str,
        status: str,
        *,
        event: Ev,
        wake_at: datetime | None = None,
        wait_event: str = "",
        wait_match: dict[str, Any] | None = None,
        prepare: Callable[[Run], dict[str, Any]] | None = None,
    ) -> None:
        with transaction.atomic():
            run = self._lock_owned()
            if run is not None:
                extra = prepare(run) if prepare is not None else {}
                Step.objects.create(
                    run=run,
                    step_id=step_id,
                    position=self._position - 1,
                    kind=kind,
                    status=StepStatus.SLEEPING
                    if status == RunStatus.SLEEPING
                    else StepStatus.WAITING,
                    wake_at=wake_at,
                    wait_event=wait_event,
                    wait_match=wait_match,
                    child_run=extra.get("child_run"),
                    started_at=clock.now(),
                )
                event.payload.update(extra.get("payload", {}))
                run.status = status
                run.wake_at = wake_at
                run.lease_owner, run.lease_expires_at = "", None
                append(run, [Ev("step.started", step_id, {"kind": kind}), event])
                if wake_at is not None:
                    _enqueue.enqueue_on_commit(run, eta=wake_at)
        if run is None:
            raise _Stop("ended at a step boundary")
        raise _Suspend()


def storable(step_id: str, value: Any) -> str:
    """A step's result as the JSON text to store, or a coded non-retriable failure: not
    JSON (``STEP_OUTPUT_NOT_JSON``), or over the stored-data limits (too deep, too large,
    NUL: ``STEP_OUTPUT_TOO_DEEP`` …, ``workflows.limits``) — checked before it is dumped,
    so a 2,000-deep value is refused instead of overflowing the stack."""
    problem = json_limit_problem(value, what=f"step {step_id} output")
    if problem is not None and problem.limit not in ("type", "number"):
        raise StepOutputLimitExceeded(step_id, problem)
    return ensure_json(step_id, value)


def ensure_json(step_id: str, value: Any) -> str:
    """``value`` as JSON text (stored as is), or ``StepOutputNotJSON``."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StepOutputNotJSON(
            f"output of {step_id} is not JSON-serializable ({type(value).__name__}): {exc}"
        ) from exc


def retry_delay(exc: Exception, options: _registry.FunctionOptions, attempt: int) -> float:
    if isinstance(exc, RetryAfter):
        if exc.at is not None:
            return max(0.0, (exc.at - clock.now()).total_seconds())
        if exc.seconds is not None:
            return max(0.0, float(exc.seconds))
    return options.backoff(attempt)


def error_dict(exc: BaseException, *, step_id: str = "") -> dict[str, Any]:
    declared = getattr(exc, "code", None) if isinstance(exc, NonRetriableError) else None
    error = {
        "code": declared or (RunErrorCode.STEP_ERROR if step_id else RunErrorCode.FUNCTION_ERROR),
        "message": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
    }
    if step_id:
        error["stepId"] = step_id
    return error


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _mark_completed(step: Step, output: Any, now: datetime) -> None:
    step.status = StepStatus.COMPLETED
    step.output = output
    if step.kind in (StepKind.RUN, StepKind.SEND):
        step.attempts += 1
    step.error = None
    step.finished_at = now


_STEP_FIELDS = ["status", "output", "attempts", "starts", "error", "started_at", "finished_at"]


def _save_step(step: Step) -> None:
    """Insert a step first written at its outcome, or update the recorded one."""
    if step.pk is None:
        step.save(force_insert=True)
    else:
        step.save(update_fields=_STEP_FIELDS)
