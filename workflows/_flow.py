"""Flow control at the door: rate limits and debounce, decided when a run is triggered.

Both count other runs of the same function and key inside a window, under a transaction
advisory lock per (function, key) on PostgreSQL, so the decision holds across any number of
web processes. (Throttling and concurrency limits are decided when a run is claimed:
``_lease``.) A rate-limited trigger is recorded as a ``skipped`` run, so it can be seen and
counted; a debounced trigger updates the one pending run of its key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction

from workflows import _enqueue, _registry, clock
from workflows._state import Ev, append
from workflows.models import Run, RunStatus


def advisory_lock(name: str) -> None:
    """Serialise deciders of one (function, key) until the transaction ends (Postgres)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])


def accept(
    function: _registry.DurableFunction, run: Run, queued: Ev, principal: str
) -> tuple[Run, bool] | None:
    """Record a trigger of a rate-limited or debounced function.

    Returns ``(run, created)`` — the new run (queued, or ``skipped`` by the rate limit),
    or the pending debounced run it joined — or ``None`` when the run's id or idempotency
    key is taken (nothing written; the caller resolves the existing run).
    """
    options = function.options
    now = clock.now()
    try:
        with transaction.atomic():
            if options.rate_limit is not None and _over_rate_limit(run, options.rate_limit, now):
                run.status = RunStatus.SKIPPED
                run.finished_at = now
                run.save(force_insert=True)
                limit = options.rate_limit
                append(
                    run,
                    [
                        queued,
                        Ev(
                            "run.skipped",
                            payload={
                                "reason": "rate_limited",
                                "key": run.rate_limit_key,
                                "limit": limit.limit,
                                "periodSeconds": limit.period,
                            },
                        ),
                    ],
                )
                return run, True
            if options.debounce is not None:
                period = options.debounce.period
                advisory_lock(f"rawr-debounce:{run.function_id}:{run.debounce_key}")
                pending = (
                    Run.objects.select_for_update()
                    .filter(
                        function_id=run.function_id,
                        debounce_key=run.debounce_key,
                        status=RunStatus.QUEUED,
                        started_at__isnull=True,
                    )
                    .order_by("created_at")
                    .first()
                )
                wake = now + timedelta(seconds=period)
                key = run.debounce_key or "(all)"
                reason = f"debounced: key {key}, starts {period:g}s after the last trigger"
                if pending is not None:
                    # The last trigger wins: its input replaces the pending run's.
                    Run.objects.filter(pk=pending.pk).update(input=run.input)
                    pending.input = run.input
                    pending.wake_at, pending.waiting_reason = wake, reason
                    append(pending, [Ev("run.debounced", payload={"by": principal})])
                    _enqueue.enqueue_on_commit(pending, eta=wake)
                    return pending, False
                run.wake_at, run.waiting_reason = wake, reason
            run.save(force_insert=True)
            append(run, [queued])
            _enqueue.enqueue_on_commit(run, eta=run.wake_at)
            return run, True
    except IntegrityError:
        run._state.adding = True
        return None


def _over_rate_limit(run: Run, limit: _registry.RateLimit, now: datetime) -> bool:
    advisory_lock(f"rawr-rate:{run.function_id}:{run.rate_limit_key}")
    accepted = (
        Run.objects.filter(
            function_id=run.function_id,
            rate_limit_key=run.rate_limit_key,
            created_at__gt=now - timedelta(seconds=limit.period),
        )
        .exclude(status=RunStatus.SKIPPED)
        .count()
    )
    return accepted >= limit.limit
