"""Starting runs and delivering events: the writes both the public API (``services``)
and a running step (``step.invoke`` / ``step.send_event``) make, so they sit below both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from pydantic import ValidationError

from rawr_site.contract.errors import RawrError, bad_request
from rawr_site.contract.procedure import validation_issues
from workflows import _enqueue, _registry, _sql, clock
from workflows._state import Ev, append, locked_run
from workflows.codes import FUNCTION_NOT_FOUND, INVALID_RUN_ID, RUN_ID_CONFLICT
from workflows.ids import is_safe_id, new_run_id
from workflows.models import (
    Event,
    Run,
    RunStatus,
    Step,
    StepKind,
    StepStatus,
)


@dataclass(frozen=True)
class Triggered:
    run: Run
    created: bool


def _function_or_404(function_id: str) -> _registry.DurableFunction:
    function = _registry.get_function(function_id)
    if function is None:
        raise FUNCTION_NOT_FOUND(
            f"No durable function {function_id!r}", data={"functionId": function_id}
        )
    return function


def trigger(
    function_id: str,
    input: Any = None,
    *,
    run_id: str | None = None,
    idempotency_key: str | None = None,
    principal: str = "system",
    correlation_id: str = "",
    parent_run: Run | None = None,
    parent_step_id: str = "",
    replay_of: Run | None = None,
    use_idempotency: bool = True,
) -> Triggered:
    """Create a queued run (+ ``run.queued``) in one transaction; enqueue after commit.

    Idempotent: the same ``run_id`` or the same idempotency key (explicit, or computed by
    the function's ``idempotency_key``) returns the existing run and enqueues nothing.
    A ``run_id`` already used by another function is ``409 RUN_ID_CONFLICT``.
    ``use_idempotency=False`` (replays) always creates a new run.
    """
    function = _function_or_404(function_id)
    if run_id is not None and not is_safe_id(run_id):
        raise INVALID_RUN_ID(
            "runId must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
            data={"runId": run_id},
        )
    try:
        parsed = function.parse_input(input)
    except ValidationError as exc:
        raise bad_request("Input validation failed", validation_issues(exc)) from exc
    stored_input = (
        parsed.model_dump(mode="json", by_alias=True) if hasattr(parsed, "model_dump") else parsed
    )
    options = function.options
    if not use_idempotency:
        idempotency_key = None
    elif idempotency_key is None and options.idempotency_key is not None:
        idempotency_key = str(options.idempotency_key(parsed))
    if idempotency_key is not None and (not idempotency_key or len(idempotency_key) > 255):
        raise RawrError("BAD_REQUEST", 400, "Idempotency-Key must be 1-255 characters")
    concurrency_key = (
        str(options.concurrency_key(parsed)) if options.concurrency_key is not None else ""
    )

    run = Run(
        id=run_id or new_run_id(),
        function_id=function.id,
        capability=function.capability,
        input=stored_input,
        idempotency_key=idempotency_key or "",
        concurrency_key=concurrency_key,
        principal=principal,
        correlation_id=correlation_id,
        parent_run=parent_run,
        parent_step_id=parent_step_id,
        replay_of=replay_of,
        priority=options.priority,
        queue=options.queue,
    )
    queued = Ev(
        "run.queued",
        payload={
            "functionId": function.id,
            "by": principal,
            **({"parentRunId": parent_run.pk} if parent_run else {}),
            **({"replayOf": replay_of.pk} if replay_of else {}),
        },
    )
    if _sql.available():
        # One statement: the run and ``run.queued``, or nothing when the id / key exists.
        run.enqueued_at = clock.now()  # stamped now; un-stamped if the send fails
        if not _sql.insert_run(run, queued):
            return Triggered(_existing_or_conflict(function, run_id, idempotency_key), False)
        _enqueue.enqueue_on_commit(run, stamped=True)
        return Triggered(run, created=True)
    existing = _existing(function, run_id, idempotency_key)
    if existing is not None:
        return Triggered(existing, created=False)
    try:
        with transaction.atomic():
            run.save(force_insert=True)
            append(run, [queued])
            _enqueue.enqueue_on_commit(run)
    except IntegrityError:
        # A concurrent trigger with the same run id / key won the race: answer with its run.
        existing = _existing(function, run_id, idempotency_key)
        if existing is None:
            raise
        return Triggered(existing, created=False)
    return Triggered(run, created=True)


def _existing_or_conflict(
    function: _registry.DurableFunction, run_id: str | None, key: str | None
) -> Run:
    existing = _existing(function, run_id, key)
    if existing is None:  # the conflicting run was deleted in between: rare, retryable
        raise RUN_ID_CONFLICT("A run with this id or key was just removed")
    return existing


def _existing(
    function: _registry.DurableFunction, run_id: str | None, key: str | None
) -> Run | None:
    if run_id is not None:
        run = Run.objects.filter(pk=run_id).first()
        if run is not None:
            if run.function_id != function.id:
                raise RUN_ID_CONFLICT(
                    f"Run {run_id} already exists for another function",
                    data={"runId": run_id, "functionId": run.function_id},
                )
            return run
    if key is not None:
        return Run.objects.filter(function_id=function.id, idempotency_key=key).first()
    return None


def _matches(match: dict[str, Any] | None, data: dict[str, Any]) -> bool:
    for path, expected in (match or {}).items():
        node: Any = data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        if node != expected:
            return False
    return True


def event_send(
    *,
    name: str,
    data: dict[str, Any] | None = None,
    sent_by: str = "system",
    correlation_id: str = "",
    capability: str = "",
    only_capability: str | None = None,
) -> Event:
    """Store an event and resume every run waiting for it (matching ``match``).

    ``only_capability`` limits which runs it may resume: an event posted to one
    capability's HTTP route never wakes another capability's runs.
    """
    if not name or len(name) > 200:
        raise RawrError("BAD_REQUEST", 400, "Event name must be 1-200 characters")
    data = data or {}
    with transaction.atomic():
        event = Event.objects.create(
            id=f"evt_{uuid.uuid4().hex}",
            name=name,
            data=data,
            sent_by=sent_by,
            correlation_id=correlation_id,
            capability=capability,
        )
        resumed: list[str] = []
        candidates = Step.objects.filter(
            status=StepStatus.WAITING, wait_event=name, kind=StepKind.WAIT
        ).order_by("run_id", "position")
        if only_capability is not None:
            candidates = candidates.filter(run__capability=only_capability)
        for candidate in list(candidates):
            if not _matches(candidate.wait_match, data):
                continue
            # Lock run, then step (the engine's order), and re-check the step is waiting.
            run = locked_run(candidate.run_id)
            step = (
                Step.objects.select_for_update()
                .filter(pk=candidate.pk, status=StepStatus.WAITING)
                .first()
            )
            if run is None or step is None or run.is_finished:
                continue
            step.status = StepStatus.COMPLETED
            step.output = {"id": event.id, "name": name, "data": data}
            step.finished_at = clock.now()
            step.save(update_fields=["status", "output", "finished_at"])
            events = [Ev("step.completed", step.step_id, {"eventId": event.id, "by": sent_by})]
            if run.status == RunStatus.WAITING:
                run.status = RunStatus.QUEUED
                run.wake_at = None
                events.append(Ev("run.resumed", step.step_id, {"eventId": event.id}))
                _enqueue.enqueue_on_commit(run)
            append(run, events)
            resumed.append(run.pk)
        event.resumed_run_ids = resumed
        event.save(update_fields=["resumed_run_ids"])
    return event
