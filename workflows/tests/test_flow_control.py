"""Flow control declared on a function: throttle, rate limit, debounce, priority.

Driven in-process with the runtime's clock moved instead of slept: every decision is the
engine's own (Postgres advisory locks, counts inside the window), only the transport and
the passing of time are the test's.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest

from workflows import durable_function, temporarily_registered, trigger
from workflows.models import Run
from workflows.testing import drain, pending

pytestmark = pytest.mark.django_db(transaction=True)


def _drain_over(clock, seconds: float, tick: float = 0.25) -> None:
    """Let ``seconds`` of runtime clock pass, executing whatever falls due."""
    for _ in range(int(seconds / tick)):
        drain()
        clock.advance(tick)
    drain()


def test_throttle_starts_at_most_two_per_second_per_key(inline_dispatch, clock) -> None:
    @durable_function("t.flow.throttled", throttle=(2, 1.0, lambda data: data["customer"]))
    def throttled(ctx, step):
        return step.run("work", lambda: ctx.input["n"])

    with temporarily_registered(throttled):
        busy = [trigger("t.flow.throttled", {"customer": "c-7", "n": n}).run for n in range(20)]
        other = [trigger("t.flow.throttled", {"customer": "c-8", "n": n}).run for n in range(2)]
        drain()
        waiting = Run.objects.get(pk=busy[-1].pk)
        assert waiting.status == "queued"
        assert waiting.waiting_reason.startswith("throttled: key c-7, ")
        assert waiting.waiting_reason.endswith(" ahead")
        _drain_over(clock, 12)

    runs = Run.objects.filter(pk__in=[r.pk for r in busy + other])
    assert set(runs.values_list("status", flat=True)) == {"completed"}
    assert all(run.waiting_reason == "" for run in runs)
    starts = sorted(
        Run.objects.filter(pk__in=[r.pk for r in busy]).values_list("started_at", flat=True)
    )
    for i, start in enumerate(starts):  # any one-second window holds at most two starts
        in_window = [s for s in starts[i:] if s - start < timedelta(seconds=1)]
        assert len(in_window) <= 2, (start, in_window)
    assert starts[-1] - starts[0] >= timedelta(seconds=9)  # 20 starts at 2/s
    first_other = min(
        Run.objects.filter(pk__in=[r.pk for r in other]).values_list("started_at", flat=True)
    )
    assert first_other - starts[0] < timedelta(seconds=1)  # another key is not held back


def test_debounce_makes_one_run_with_the_last_input(inline_dispatch, clock) -> None:
    @durable_function("t.flow.debounced", debounce=(5.0, lambda data: data["doc"]))
    def debounced(ctx, step):
        return ctx.input

    with temporarily_registered(debounced):
        triggered = []
        for n in range(10):
            triggered.append(trigger("t.flow.debounced", {"doc": "d-1", "rev": n}))
            clock.advance(1)
            drain()  # nothing is due while triggers keep coming
        other = trigger("t.flow.debounced", {"doc": "d-2", "rev": 0})
        assert Run.objects.get(pk=triggered[0].run.pk).status == "queued"
        _drain_over(clock, 6)

    assert len({t.run.pk for t in triggered}) == 1
    assert [t.created for t in triggered] == [True] + [False] * 9
    run = Run.objects.get(pk=triggered[0].run.pk)
    assert run.status == "completed" and run.output == {"doc": "d-1", "rev": 9}
    types = Counter(run.timeline.values_list("type", flat=True))
    assert types["run.debounced"] == 9 and types["run.started"] == 1
    assert Run.objects.get(pk=other.run.pk).output == {"doc": "d-2", "rev": 0}


def test_rate_limited_triggers_are_recorded_as_skipped(inline_dispatch, clock) -> None:
    @durable_function("t.flow.limited", rate_limit=(3, 60.0, lambda data: data["user"]))
    def limited(ctx, step):
        return "done"

    with temporarily_registered(limited):
        runs = [trigger("t.flow.limited", {"user": "u-1"}).run for _ in range(5)]
        theirs = trigger("t.flow.limited", {"user": "u-2"}).run
        drain()
        clock.advance(61)
        later = trigger("t.flow.limited", {"user": "u-1"}).run
        drain()

    statuses = [Run.objects.get(pk=r.pk).status for r in runs]
    assert statuses == ["completed"] * 3 + ["skipped"] * 2
    skipped = Run.objects.get(pk=runs[-1].pk)
    assert skipped.finished_at is not None and skipped.started_at is None
    event = skipped.timeline.get(type="run.skipped")
    assert event.payload == {
        "reason": "rate_limited",
        "key": "u-1",
        "limit": 3,
        "periodSeconds": 60.0,
    }
    assert [pk for pk, _eta in pending] == []  # skipped runs were never sent
    assert Run.objects.get(pk=theirs.pk).status == "completed"
    assert Run.objects.get(pk=later.pk).status == "completed"  # a new window


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"throttle": (0, 1)}, "limit must be a whole number >= 1"),
        ({"throttle": (2, -1)}, "period must be a number of seconds > 0"),
        ({"rate_limit": (1,)}, "rate_limit= takes (limit, period_seconds[, key])"),
        ({"rate_limit": (1, 1, "user")}, "key must be a function of the input"),
        ({"debounce": (0,)}, "period must be a number of seconds > 0"),
        ({"priority": 11}, "priority must be a whole number from 0 to 9"),
        ({"priority": True}, "priority must be a whole number from 0 to 9"),
    ],
)
def test_a_flow_control_spec_that_makes_no_sense_is_refused_at_declaration(
    options, message
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        durable_function("t.flow.bad", **options)


def test_the_run_page_says_why_a_queued_run_waits(inline_dispatch) -> None:
    from django.urls import reverse

    from tests.factories import staff_client

    @durable_function("t.flow.shown", throttle=(1, 60.0, lambda data: data["customer"]))
    def shown(ctx, step):
        return 1

    with temporarily_registered(shown):
        trigger("t.flow.shown", {"customer": "customer-7"})
        held = trigger("t.flow.shown", {"customer": "customer-7"}).run
        drain()
        page = staff_client("view_run").get(reverse("admin:workflows_run_change", args=[held.pk]))

    assert page.status_code == 200
    assert "throttled: key customer-7, 0 ahead" in page.content.decode()


def test_a_function_on_a_queue_no_worker_consumes_fails_the_start_up_checks(settings) -> None:
    from django.core.checks import run_checks

    settings.RAWR_QUEUES = ["celery", "search"]
    settings.RAWR_CAPABILITY_QUEUES = {"billing": "nowhere"}

    @durable_function("t.flow.lost", queue="bulk-typo")
    def lost(ctx, step):
        return 1

    with temporarily_registered(lost):
        errors = {e.id: e.msg for e in run_checks(tags=["workflows"])}

    assert "'t.flow.lost' sends its runs to queue 'bulk-typo'" in errors["workflows.E001"]
    assert "capability 'billing' to unknown queue 'nowhere'" in errors["workflows.E002"]
