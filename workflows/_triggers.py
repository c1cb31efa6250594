"""Starting runs and delivering events: the writes both the public API (``services``)
and a running step (``step.invoke`` / ``step.send_event``) make, so they sit below both.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from pydantic import ValidationError

from rawr_site.contract.errors import RawrError, bad_request
from rawr_site.contract.procedure import validation_issues
from workflows import _enqueue, _flow, _registry, _sql, clock
from workflows._registry import flow_key
from workflows._state import Ev, append, locked_run
from workflows.codes import (
    FUNCTION_NOT_FOUND,
    IDEMPOTENCY_KEY_REUSED,
    INVALID_RUN_ID,
    RUN_ID_CONFLICT,
)
from workflows.ids import is_safe_id, new_run_id
from workflows.limits import json_limit_problem
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
    idempotency_scope: str | None = None,
    principal: str = "system",
    correlation_id: str = "",
    parent_run: Run | None = None,
    parent_step_id: str = "",
    replay_of: Run | None = None,
    use_idempotency: bool = True,
) -> Triggered:
    """Create a queued run (+ ``run.queued``) in one statement; enqueue after commit.

    Idempotent by ``run_id`` (a run id taken by another caller or function is ``409
    RUN_ID_CONFLICT``) and by idempotency key:

    * an explicit key (the ``Idempotency-Key`` header) belongs to its caller:
      ``idempotency_scope`` defaults to ``principal`` (coordination adds the workflow id).
      Within the scope, the same key with the same input returns the first run; with
      another input it is ``422 IDEMPOTENCY_KEY_REUSED``; after
      ``RAWR_IDEMPOTENCY_WINDOW_SECONDS`` (24 h) the key is free again.
    * a key the function computes from its input (``idempotency_key=`` on the function)
      is function-wide: the function declares what "the same" means.

    ``use_idempotency=False`` (replays) always creates a new run.
    """
    function = _function_or_404(function_id)
    if run_id is not None and not is_safe_id(run_id):
        raise INVALID_RUN_ID(
            "runId must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
            data={"runId": run_id},
        )
    parsed, stored_input = checked_input(function, input)
    options = function.options
    scope = fingerprint = ""
    if not use_idempotency:
        idempotency_key = None
    elif idempotency_key is not None:
        scope = idempotency_scope if idempotency_scope is not None else principal
        fingerprint = input_fingerprint(stored_input)
    elif options.idempotency_key is not None:
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
        idempotency_scope=scope[:300],
        input_fingerprint=fingerprint,
        concurrency_key=concurrency_key,
        throttle_key=flow_key(options.throttle and options.throttle.key, parsed),
        rate_limit_key=flow_key(options.rate_limit and options.rate_limit.key, parsed),
        debounce_key=flow_key(options.debounce and options.debounce.key, parsed),
        principal=principal,
        correlation_id=correlation_id,
        parent_run=parent_run,
        parent_step_id=parent_step_id,
        replay_of=replay_of,
        priority=options.priority,
        queue=queue_of(function),
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
    if options.rate_limit is not None or options.debounce is not None:
        accepted = _flow.accept(function, run, queued, principal)
        if accepted is not None:
            return Triggered(*accepted)
    for _attempt in range(2):  # a second time only after freeing an expired key
        if _insert(run, queued, fresh=run_id is None and not run.idempotency_key):
            return Triggered(run, created=True)
        existing = _existing(function, run)
        if existing is None:  # the conflicting run was deleted in between: rare, retryable
            raise RUN_ID_CONFLICT("A run with this id or key was just removed")
        if run_id is not None and existing.pk == run_id:
            if existing.principal != principal:
                raise RUN_ID_CONFLICT(
                    f"Run {run_id} was started by another caller", data={"runId": run_id}
                )
            return Triggered(existing, created=False)
        if not (fingerprint and _expired(existing)):
            break
        # Past the window: the old run keeps its history, the key is free for this one.
        Run.objects.filter(pk=existing.pk).update(idempotency_key="")
    if fingerprint and existing.input_fingerprint and existing.input_fingerprint != fingerprint:
        raise IDEMPOTENCY_KEY_REUSED(
            "This Idempotency-Key was already used with a different request body",
            data={"idempotencyKey": idempotency_key, "runId": existing.pk},
        )
    return Triggered(existing, created=False)


def checked_input(function: _registry.DurableFunction, raw: Any) -> tuple[Any, Any]:
    """``raw`` validated by the function's input model: ``(parsed, stored JSON)``, or the
    coded 400 (validation issues, or over the stored-data limits) before anything is
    written. Triggers and schedules take their inputs through it."""
    try:
        parsed = function.parse_input(raw)
    except ValidationError as exc:
        raise bad_request("Input validation failed", validation_issues(exc)) from exc
    stored = (
        parsed.model_dump(mode="json", by_alias=True) if hasattr(parsed, "model_dump") else parsed
    )
    refuse_unstorable(stored, "input")
    return parsed, stored


def refuse_unstorable(value: Any, what: str) -> None:
    """A value over the stored-data limits (``workflows.limits``) is a coded 400 at the
    door, before anything is written."""
    problem = json_limit_problem(value, what=what)
    if problem is not None:
        raise RawrError(problem.code, 400, str(problem), problem.data())


def queue_of(function: _registry.DurableFunction) -> str:
    """The broker queue of a function's runs: its own, its capability's, or the default."""
    return function.options.queue or settings.RAWR_CAPABILITY_QUEUES.get(function.capability, "")


def input_fingerprint(stored_input: Any) -> str:
    """What "the same input" means for an explicit key: canonical JSON, hashed."""
    canonical = json.dumps(stored_input, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _expired(run: Run) -> bool:
    window = timedelta(seconds=float(settings.RAWR_IDEMPOTENCY_WINDOW_SECONDS))
    return run.created_at < clock.now() - window


def _insert(run: Run, queued: Ev, *, fresh: bool = False) -> bool:
    """Write the run and ``run.queued``; False when its id or key is taken (nothing written).

    ``fresh``: the run id was just generated and no key can collide, so the insert cannot
    be refused. Outside a transaction the message is then sent *before* the insert
    commits, and the commit's wait for the disk overlaps the trip through the broker (the
    worker's claim looks again for a run it does not see yet: ``_lease.claim``). If the
    send fails the run is written unstamped and the sweeper sends it.
    """
    if _sql.available():
        early = fresh and not connection.in_atomic_block and _enqueue.dispatches_to_broker()
        if early:
            # Have a connection before telling a worker about the run: when the database
            # refuses us (503) no message for a run that will never exist goes out.
            connection.ensure_connection()
            sent = _enqueue.send(
                run.pk,
                queue=run.queue,
                correlation_id=run.correlation_id,
                priority=run.priority,
                stamped=True,
            )
            run.enqueued_at = clock.now() if sent else None
        else:
            run.enqueued_at = clock.now()  # stamped now; un-stamped if the send fails
        # One statement: the run and ``run.queued``, or nothing when the id / key exists.
        if not _sql.insert_run(run, queued):
            return False
        if not early:
            _enqueue.enqueue_on_commit(run, stamped=True)
        return True
    try:
        with transaction.atomic():
            run.save(force_insert=True)
            append(run, [queued])
            _enqueue.enqueue_on_commit(run)
    except IntegrityError:
        run._state.adding = True
        return False
    return True


def _existing(function: _registry.DurableFunction, run: Run) -> Run | None:
    """The run that holds ``run``'s id or idempotency key."""
    taken = Run.objects.filter(pk=run.pk).first()
    if taken is not None:
        if taken.function_id != function.id:
            raise RUN_ID_CONFLICT(
                f"Run {run.pk} already exists for another function",
                data={"runId": run.pk, "functionId": taken.function_id},
            )
        return taken
    if not run.idempotency_key:
        return None
    return Run.objects.filter(
        function_id=function.id,
        idempotency_scope=run.idempotency_scope,
        idempotency_key=run.idempotency_key,
    ).first()


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
    refuse_unstorable(data, "event data")
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
