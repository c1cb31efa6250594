"""How many statements the runtime sends: the counts are the design, written down here.

On PostgreSQL (transaction control and the claim's ``SET LOCAL`` aside) a trigger is one
statement (the run and its ``run.queued``), a claim is one
(``UPDATE … RETURNING`` that also writes ``run.started`` and reads the memo), a
completed step is one (step row, ``step.started`` + ``step.completed``, the run's ``seq``
and lease, ownership checked in the same ``UPDATE``), a memoized step is none, and
finishing the run is one. If a change makes any of these grow, this test says by how much.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows import durable_function, temporarily_registered, trigger
from workflows._engine import execute
from workflows.models import Run, TimelineEvent
from workflows.testing import pending

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement path"),
]

STEPS = 10


def _writes(statements: list[str]) -> list[str]:
    """The statements that do the work: the claim's ``SET LOCAL synchronous_commit = off``
    (its commit does not wait for the disk) and transaction control are not counted."""
    return [
        sql
        for sql in statements
        if not sql.startswith("SET LOCAL")
        and sql not in ("COMMIT", "BEGIN")
        and not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def _statements(action: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        action()
    return [query["sql"] for query in captured.captured_queries]


def test_trigger_is_one_statement_and_a_ten_step_run_is_twelve(inline_dispatch) -> None:
    @durable_function("t.q.ten", retries=0)
    def ten(ctx, step):
        return [step.run(f"s{i}", lambda i=i: i) for i in range(STEPS)]

    with temporarily_registered(ten):
        queued: list[Run] = []
        triggered = _statements(lambda: queued.append(trigger("t.q.ten").run))
        run = queued[0]
        assert len(triggered) == 1, triggered
        assert pending == [(run.pk, None)]

        executed = _statements(lambda: execute(run.pk, "w-1"))

    # the claim (which also loads the memo) 1 + one per step + run.completed 1
    assert len(_writes(executed)) == 1 + STEPS + 1, "\n".join(executed)
    run.refresh_from_db()
    assert run.status == "completed" and run.output == list(range(STEPS))
    types = list(TimelineEvent.objects.filter(run=run).values_list("type", flat=True))
    assert types == [
        "run.queued",
        "run.started",
        *["step.started", "step.completed"] * STEPS,
        "run.completed",
    ]
    assert list(TimelineEvent.objects.filter(run=run).values_list("seq", flat=True)) == list(
        range(1, len(types) + 1)
    )


def test_a_replay_reads_memoized_steps_without_a_statement_each(inline_dispatch) -> None:
    failures = {"left": 1}

    @durable_function("t.q.memo", retries=1, backoff_base=0)
    def memo(ctx, step):
        done = [step.run(f"s{i}", lambda i=i: i) for i in range(STEPS)]

        def flaky() -> str:
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("once")
            return "ok"

        return [*done, step.run("flaky", flaky)]

    with temporarily_registered(memo):
        run = trigger("t.q.memo").run
        assert execute(run.pk, "w-1") == "parked"  # ten steps done, flaky retried
        replayed = _statements(lambda: execute(run.pk, "w-2"))

    # the claim with the memo 1 + 0 for ten memoized steps + flaky 1 + run.completed 1
    assert len(_writes(replayed)) == 3, "\n".join(replayed)
    run.refresh_from_db()
    assert run.status == "completed" and run.output[-1] == "ok"


def test_a_duplicate_message_for_a_running_run_costs_one_statement(inline_dispatch) -> None:
    @durable_function("t.q.dup", retries=0)
    def dup(ctx, step):
        return step.run("only", lambda: 1)

    with temporarily_registered(dup):
        run = trigger("t.q.dup").run
        Run.objects.filter(pk=run.pk).update(status="completed")
        skipped = _statements(lambda: execute(run.pk, "w-1"))
    assert len(_writes(skipped)) == 1, skipped  # the claim, which did not match
