"""The engine, driven in-process (same code path as the worker, inline dispatch).

Each test registers a small durable function, triggers it through the service and drains
the pending executions like a worker would.
"""

from __future__ import annotations

from collections import Counter

import pytest

from rawr_site.contract import RawrError
from workflows import (
    NonRetriableError,
    RetryAfter,
    durable_function,
    event_send,
    run_cancel,
    run_replay,
    run_retry,
    temporarily_registered,
    trigger,
)
from workflows import clock as runtime_clock
from workflows.models import Event, Run, Step
from workflows.testing import drain, pending

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _moved_clock(clock):
    """Due times come from the runtime's clock: tests move it instead of sleeping."""
    return clock


calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def _work(name: str, value=None):
    calls[name] += 1
    return value if value is not None else name


def _types(run: Run) -> list[str]:
    return list(run.timeline.order_by("seq").values_list("type", flat=True))


def _registered(fn):
    return temporarily_registered(fn)


def test_completed_run_memoizes_steps_and_records_a_full_timeline() -> None:
    @durable_function("t.basic")
    def basic(ctx, step):
        a = step.run("a", _work, "a", 1)
        b = step.run("b", _work, "b", a + 1)
        return {"sum": a + b, "input": ctx.input}

    with _registered(basic):
        run = trigger("t.basic", {"x": 1}, correlation_id="cid-1").run
        drain()
    run.refresh_from_db()
    assert run.status == "completed"
    assert run.output == {"sum": 3, "input": {"x": 1}}
    assert calls == {"a": 1, "b": 1}
    assert _types(run) == [
        "run.queued",
        "run.started",
        "step.started",
        "step.completed",
        "step.started",
        "step.completed",
        "run.completed",
    ]
    assert set(run.timeline.values_list("correlation_id", flat=True)) == {"cid-1"}
    seqs = list(run.timeline.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_failing_step_retries_with_backoff_and_earlier_steps_are_not_rerun() -> None:
    @durable_function("t.flaky", retries=2, backoff_base=0.01)
    def flaky(ctx, step):
        step.run("first", _work, "first")

        def second():
            calls["second"] += 1
            if calls["second"] < 3:
                raise ConnectionError("upstream down")
            return "ok"

        return step.run("second", second)

    with _registered(flaky):
        run = trigger("t.flaky").run
        for _ in range(5):
            drain()
            runtime_clock.advance(0.03)
    run.refresh_from_db()
    assert run.status == "completed" and run.output == "ok"
    assert calls == {"first": 1, "second": 3}
    failures = list(run.timeline.filter(type="step.failed").values_list("payload", flat=True))
    assert [f["retryInSeconds"] for f in failures] == [0.01, 0.02]
    assert "ConnectionError: upstream down" in failures[0]["error"]["message"]
    assert Step.objects.get(run=run, step_id="second").attempts == 3


def test_retries_exhausted_fail_the_run_with_the_step_error() -> None:
    @durable_function("t.broken", retries=1, backoff_base=0)
    def broken(ctx, step):
        return step.run("boom", lambda: 1 / 0)

    with _registered(broken):
        run = trigger("t.broken").run
        drain()
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error["code"] == "STEP_ERROR" and run.error["stepId"] == "boom"
    assert "ZeroDivisionError" in run.error["message"] and "Traceback" in run.error["traceback"]
    assert _types(run)[-2:] == ["step.failed", "run.failed"]


def test_non_retriable_error_fails_at_once() -> None:
    @durable_function("t.refuse", retries=5)
    def refuse(ctx, step):
        def check():
            calls["check"] += 1
            raise NonRetriableError("card declined", code="CARD_DECLINED")

        return step.run("charge", check)

    with _registered(refuse):
        run = trigger("t.refuse").run
        drain()
    run.refresh_from_db()
    assert run.status == "failed" and run.error["code"] == "CARD_DECLINED"
    assert calls["check"] == 1


def test_retry_after_reschedules_the_step_at_the_given_delay() -> None:
    @durable_function("t.ratelimited", retries=3)
    def limited(ctx, step):
        def call():
            calls["call"] += 1
            if calls["call"] == 1:
                raise RetryAfter("429", seconds=0.3)
            return "done"

        return step.run("call", call)

    with _registered(limited):
        run = trigger("t.ratelimited").run
        drain()
        run.refresh_from_db()
        assert run.status == "queued" and run.wake_at is not None
        runtime_clock.advance(0.31)
        drain()
    run.refresh_from_db()
    assert run.status == "completed"
    assert run.timeline.get(type="step.failed").payload["retryInSeconds"] == 0.3


def test_non_json_step_output_fails_with_a_clear_error() -> None:
    @durable_function("t.nonjson")
    def nonjson(ctx, step):
        return step.run("obj", lambda: object())

    with _registered(nonjson):
        run = trigger("t.nonjson").run
        drain()
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error["code"] == "STEP_OUTPUT_NOT_JSON"
    assert "not JSON-serializable" in run.error["message"]


def test_changed_step_sequence_on_replay_fails_as_non_deterministic() -> None:
    flip = {"value": "a"}

    @durable_function("t.nondet")
    def nondet(ctx, step):
        step.run(flip["value"], _work, flip["value"])
        step.sleep("nap", seconds=0.3)
        return "done"

    with _registered(nondet):
        run = trigger("t.nondet").run
        drain()
        flip["value"] = "b"
        runtime_clock.advance(0.31)
        drain()
    run.refresh_from_db()
    assert run.status == "failed" and run.error["code"] == "NON_DETERMINISTIC"
    assert "'a'" in run.error["message"] and "'b'" in run.error["message"]


def test_sleep_parks_the_run_and_resumes_it_when_due() -> None:
    @durable_function("t.sleepy")
    def sleepy(ctx, step):
        step.run("before", _work, "before")
        step.sleep("nap", seconds=0.4)
        return step.run("after", _work, "after")

    with _registered(sleepy):
        run = trigger("t.sleepy").run
        drain()
        run.refresh_from_db()
        assert run.status == "sleeping" and run.lease_owner == ""
        assert drain() == 0, "not due yet: nothing executes"
        runtime_clock.advance(0.41)
        drain()
    run.refresh_from_db()
    assert run.status == "completed"
    assert calls == {"before": 1, "after": 1}
    assert "run.sleeping" in _types(run) and "run.resumed" in _types(run)


def test_wait_for_event_resumes_on_a_matching_event_only() -> None:
    @durable_function("t.waiter")
    def waiter(ctx, step):
        got = step.wait_for_event(
            "approval", "order.approved", match={"orderId": ctx.input["id"]}, timeout=60
        )
        return {"approvedBy": got["data"]["by"]}

    with _registered(waiter):
        run = trigger("t.waiter", {"id": "o-1"}).run
        drain()
        run.refresh_from_db()
        assert run.status == "waiting"
        other = event_send(name="order.approved", data={"orderId": "o-2", "by": "x"})
        assert other.resumed_run_ids == []
        sent = event_send(
            name="order.approved", data={"orderId": "o-1", "by": "ann"}, sent_by="user:ann"
        )
        assert sent.resumed_run_ids == [run.pk]
        drain()
    run.refresh_from_db()
    assert run.status == "completed" and run.output == {"approvedBy": "ann"}
    assert Event.objects.get(pk=sent.pk).sent_by == "user:ann"


def test_wait_for_event_times_out_with_none() -> None:
    @durable_function("t.timeout")
    def waits(ctx, step):
        got = step.wait_for_event("ping", "never.sent", timeout=0.1)
        return {"got": got}

    with _registered(waits):
        run = trigger("t.timeout").run
        drain()
        runtime_clock.advance(0.12)
        drain()
    run.refresh_from_db()
    assert run.status == "completed" and run.output == {"got": None}
    assert "step.timed_out" in _types(run)


def test_invoke_runs_a_child_and_returns_its_output() -> None:
    @durable_function("t.child")
    def child(ctx, step):
        return step.run("double", lambda: ctx.input["n"] * 2)

    @durable_function("t.parent")
    def parent(ctx, step):
        doubled = step.invoke("call-child", "t.child", {"n": 21})
        return {"answer": doubled}

    with _registered(child), _registered(parent):
        run = trigger("t.parent", correlation_id="cid-p").run
        drain()
    run.refresh_from_db()
    kid = Run.objects.get(parent_run=run)
    assert run.status == "completed" and run.output == {"answer": 42}
    assert kid.function_id == "t.child" and kid.correlation_id == "cid-p"
    assert kid.parent_step_id == "call-child"


def test_failed_child_fails_the_parent_step() -> None:
    @durable_function("t.badchild", retries=0)
    def badchild(ctx, step):
        raise NonRetriableError("nope")

    @durable_function("t.parent2", retries=0)
    def parent(ctx, step):
        return step.invoke("call", "t.badchild", {})

    with _registered(badchild), _registered(parent):
        run = trigger("t.parent2").run
        drain()
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error["code"] == "CHILD_RUN_FAILED"


def test_send_event_step_is_sent_once_across_replays() -> None:
    @durable_function("t.sender")
    def sender(ctx, step):
        step.send_event("announce", "thing.done", {"k": 1})
        step.sleep("nap", seconds=0.01)
        return "ok"

    with _registered(sender):
        run = trigger("t.sender").run
        drain()
        runtime_clock.advance(0.02)
        drain()
    run.refresh_from_db()
    assert run.status == "completed"
    assert Event.objects.filter(name="thing.done").count() == 1


@pytest.mark.parametrize("state", ["queued", "sleeping", "waiting"])
def test_cancel_parked_runs_at_once(state: str) -> None:
    @durable_function("t.cancellable")
    def cancellable(ctx, step):
        if ctx.input["mode"] == "sleeping":
            step.sleep("nap", seconds=60)
        if ctx.input["mode"] == "waiting":
            step.wait_for_event("w", "never")
        return step.run("end", _work, "end")

    with _registered(cancellable):
        run = trigger("t.cancellable", {"mode": state}).run
        if state != "queued":
            drain()
        run.refresh_from_db()
        assert run.status == state
        run_cancel(run_id=run.pk, by="user:ops")
        drain()
    run.refresh_from_db()
    assert run.status == "cancelled" and run.cancelled_by == "user:ops"
    assert run.timeline.get(type="run.cancelled").payload["by"] == "user:ops"
    assert calls["end"] == 0


def test_cancel_running_run_stops_at_the_next_step_boundary() -> None:
    holder: dict = {}

    @durable_function("t.longrun")
    def longrun(ctx, step):
        def first():
            run_cancel(run_id=ctx.run_id, by="user:ops")  # arrives while the step runs
            return 1

        step.run("first", first)
        return step.run("second", _work, "second")

    with _registered(longrun):
        run = trigger("t.longrun").run
        holder["id"] = run.pk
        drain()
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert calls["second"] == 0
    types = _types(run)
    assert types.index("run.cancel_requested") < types.index("run.cancelled")


def test_cancel_finished_run_is_refused_and_changes_nothing() -> None:
    @durable_function("t.quick")
    def quick(ctx, step):
        return 1

    with _registered(quick):
        run = trigger("t.quick").run
        drain()
        before = _types(Run.objects.get(pk=run.pk))
        with pytest.raises(RawrError) as error:
            run_cancel(run_id=run.pk, by="user:ops")
    assert (error.value.code, error.value.status) == ("RUN_NOT_CANCELLABLE", 409)
    assert _types(Run.objects.get(pk=run.pk)) == before


def test_retry_resumes_from_the_failed_step() -> None:
    fixed = {"ok": False}

    @durable_function("t.fixable", retries=0)
    def fixable(ctx, step):
        step.run("load", _work, "load")

        def process():
            calls["process"] += 1
            if not fixed["ok"]:
                raise ValueError("bad data")
            return "processed"

        return step.run("process", process)

    with _registered(fixable):
        run = trigger("t.fixable").run
        drain()
        assert Run.objects.get(pk=run.pk).status == "failed"
        fixed["ok"] = True
        run_retry(run_id=run.pk, by="user:ops")
        drain()
    run.refresh_from_db()
    assert run.status == "completed" and run.output == "processed"
    assert calls == {"load": 1, "process": 2}
    assert run.timeline.get(type="run.retried").payload == {
        "by": "user:ops",
        "fromSteps": ["process"],
    }


def test_replay_starts_a_linked_run_with_edited_input() -> None:
    @durable_function("t.echo")
    def echo(ctx, step):
        return step.run("echo", lambda: ctx.input)

    with _registered(echo):
        original = trigger("t.echo", {"v": 1}).run
        drain()
        replay = run_replay(run_id=original.pk, by="user:ops", input={"v": 2})
        drain()
    replay.refresh_from_db()
    assert replay.replay_of_id == original.pk and replay.output == {"v": 2}
    assert Run.objects.get(pk=original.pk).timeline.filter(type="run.replayed").exists()


def test_idempotent_triggers_return_the_same_run_and_enqueue_once() -> None:
    @durable_function("t.idem", idempotency_key=lambda data: data["orderId"])
    def idem(ctx, step):
        return 1

    @durable_function("t.other")
    def other(ctx, step):
        return 2

    with _registered(idem), _registered(other):
        first = trigger("t.idem", {"orderId": "o1"})
        again = trigger("t.idem", {"orderId": "o1"})
        keyed = trigger("t.idem", {"orderId": "o2"}, idempotency_key="K")
        keyed_again = trigger("t.idem", {"orderId": "o2"}, idempotency_key="K")
        with pytest.raises(RawrError) as reused:  # an explicit key remembers its input
            trigger("t.idem", {"orderId": "o3"}, idempotency_key="K")
        by_id = trigger("t.other", run_id="my-run-1")
        by_id_again = trigger("t.other", run_id="my-run-1")
        with pytest.raises(RawrError) as conflict:
            trigger("t.idem", {"orderId": "o9"}, run_id="my-run-1")
    assert first.created and not again.created and first.run.pk == again.run.pk
    assert keyed.created and not keyed_again.created and keyed.run.pk == keyed_again.run.pk
    assert (reused.value.code, reused.value.status) == ("IDEMPOTENCY_KEY_REUSED", 422)
    assert by_id.created and not by_id_again.created
    assert (conflict.value.code, conflict.value.status) == ("RUN_ID_CONFLICT", 409)
    assert [run_id for run_id, _eta in pending].count(first.run.pk) == 1
    assert Run.objects.count() == 3


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"function_id": "no.such.function"}, "FUNCTION_NOT_FOUND"),
        ({"function_id": "rawr.doctor", "run_id": "../etc/passwd"}, "INVALID_RUN_ID"),
        ({"function_id": "rawr.doctor", "input": {"steps": "many"}}, "BAD_REQUEST"),
    ],
)
def test_bad_triggers_are_refused_and_create_nothing(kwargs, code) -> None:
    function_id = kwargs.pop("function_id")
    with pytest.raises(RawrError) as error:
        trigger(function_id, kwargs.pop("input", None), **kwargs)
    assert error.value.code == code
    assert Run.objects.count() == 0


def test_event_for_nobody_is_stored_and_resumes_nothing() -> None:
    event = event_send(name="nobody.listens", data={"a": 1})
    assert event.resumed_run_ids == []
    with pytest.raises(RawrError):
        event_send(name="", data={})


def test_run_with_overrides_retries_and_emits_events_with_the_step() -> None:
    from workflows import TimelineEntry

    def events(outcome, value):
        return TimelineEntry(
            f"custom.{outcome}", "", {"value": value if outcome == "completed" else value["code"]}
        )

    @durable_function("t.options", retries=5, backoff_base=0)
    def options(ctx, step):
        step.record("mark", "custom.mark", {"deskId": "d1"})
        step.run_with("ok", lambda: 7, events=events)
        return step.run_with("bad", lambda: 1 / 0, retries=0, events=events)

    with _registered(options):
        run = trigger("t.options").run
        drain()
    run.refresh_from_db()
    assert run.status == "failed"
    assert Step.objects.get(run=run, step_id="bad").attempts == 1, "retries=0 overrides 5"
    custom = list(
        run.timeline.filter(type__startswith="custom.")
        .order_by("seq")
        .values_list("type", "payload")
    )
    assert custom == [
        ("custom.mark", {"deskId": "d1"}),
        ("custom.completed", {"value": 7}),
        ("custom.failed", {"value": "STEP_ERROR"}),
    ]
    assert not run.timeline.filter(step_id="mark", type="step.started").exists()


def test_retry_of_a_parent_whose_child_failed_starts_a_new_child() -> None:
    state = {"child_ok": False}

    @durable_function("t.flakychild", retries=0)
    def flakychild(ctx, step):
        if not state["child_ok"]:
            raise NonRetriableError("child broke")
        return "child done"

    @durable_function("t.retryparent", retries=0)
    def parent(ctx, step):
        return step.invoke("call", "t.flakychild", {})

    with _registered(flakychild), _registered(parent):
        run = trigger("t.retryparent").run
        drain()
        assert Run.objects.get(pk=run.pk).status == "failed"
        state["child_ok"] = True
        run_retry(run_id=run.pk, by="user:ops")
        drain()
    run.refresh_from_db()
    assert run.status == "completed" and run.output == "child done"
    assert Run.objects.filter(parent_run=run).count() == 2


def test_retry_gives_a_timed_out_run_a_fresh_clock() -> None:
    @durable_function("t.slowpoke", timeout=0.2, retries=0)
    def slowpoke(ctx, step):
        step.run("first", _work, "first")
        calls["slow"] += 1
        if calls["slow"] == 1:
            runtime_clock.advance(0.25)  # only the first execution overruns the 0.2 s budget
        return step.run("second", _work, "second")

    with _registered(slowpoke):
        run = trigger("t.slowpoke").run
        drain()
        run.refresh_from_db()
        assert run.status == "failed" and run.error["code"] == "RUN_TIMED_OUT"
        run_retry(run_id=run.pk, by="user:ops")
        drain()
    run.refresh_from_db()
    assert run.status == "completed", run.error
    assert calls["first"] == 1 and calls["second"] == 1


def test_replay_ignores_the_idempotency_key_and_bad_ids_are_400() -> None:
    @durable_function("t.idemreplay", idempotency_key=lambda data: data["k"])
    def idem(ctx, step):
        return ctx.input

    with _registered(idem):
        original = trigger("t.idemreplay", {"k": "same"}).run
        drain()
        replay = run_replay(run_id=original.pk, by="user:ops")
        with pytest.raises(RawrError) as bad:
            run_replay(run_id="../nope", by="user:ops")
    assert replay.pk != original.pk and replay.replay_of_id == original.pk
    assert (bad.value.code, bad.value.status) == ("INVALID_RUN_ID", 400)


class _WorkerDied(BaseException):
    """Stands in for SIGKILL inside a step: nothing after it runs in this process."""


def test_a_step_that_keeps_killing_its_worker_fails_the_run_eventually(settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from workflows._engine import execute

    settings.RAWR_STEP_MAX_INTERRUPTIONS = 2

    @durable_function("t.killer", retries=0)
    def killer(ctx, step):
        step.run("safe", _work, "safe")

        def deadly():
            calls["deadly"] += 1
            raise _WorkerDied()

        return step.run("deadly", deadly)

    with _registered(killer):
        run = trigger("t.killer").run
        for _ in range(2):  # interruptions do not use up retries (0 here), the budget is 2
            with pytest.raises(_WorkerDied):
                execute(run.pk, "doomed-worker")
            # the lease runs out; another worker takes the run over
            Run.objects.filter(pk=run.pk).update(
                lease_expires_at=timezone.now() - timedelta(seconds=1)
            )
        assert execute(run.pk, "next-worker") == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and run.error["code"] == "STEP_CRASHED"
    assert "interrupted 2 times" in run.error["message"]
    assert calls == {"safe": 1, "deadly": 2}


def test_a_run_whose_executions_keep_dying_between_steps_fails_as_stalled(settings) -> None:
    from datetime import timedelta

    from workflows._engine import execute

    settings.RAWR_STEP_MAX_INTERRUPTIONS = 2

    @durable_function("t.stalls", retries=0)
    def stalls(ctx, step):
        step.run("safe", _work, "safe")
        calls["body"] += 1
        raise _WorkerDied()  # outside any step: STEP_CRASHED never gets a step to blame

    with _registered(stalls):
        run = trigger("t.stalls").run
        for _ in range(3):
            with pytest.raises(_WorkerDied):
                execute(run.pk, "doomed-worker")
            Run.objects.filter(pk=run.pk).update(
                lease_expires_at=runtime_clock.now() - timedelta(seconds=1)
            )
        assert execute(run.pk, "next-worker") == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and run.error["code"] == "RUN_STALLED"
    assert calls == {"safe": 1, "body": 3}


def test_the_sweeper_applies_a_cancel_no_step_boundary_reached(settings) -> None:
    from datetime import timedelta

    from workflows.sweeper import apply_requested_cancels

    @durable_function("t.stuck", retries=0)
    def stuck(ctx, step):
        return step.run("forever", _work, "forever")

    with _registered(stuck):
        dead = trigger("t.stuck").run
        busy = trigger("t.stuck").run
    now = runtime_clock.now()
    Run.objects.filter(pk__in=[dead.pk, busy.pk]).update(
        status="running", lease_owner="w:1", cancel_requested_at=now, cancelled_by="user:ops"
    )
    Run.objects.filter(pk=dead.pk).update(lease_expires_at=now - timedelta(seconds=1))
    Run.objects.filter(pk=busy.pk).update(lease_expires_at=now + timedelta(seconds=600))
    Step.objects.create(run=busy, step_id="forever", position=0, status="running", starts=1)

    assert apply_requested_cancels(runtime_clock.now()) == 1  # the dead worker's run at once
    runtime_clock.advance(settings.RAWR_CANCEL_GRACE_SECONDS + 1)
    assert apply_requested_cancels(runtime_clock.now()) == 1  # the busy one after the grace

    for run in (dead, busy):
        run.refresh_from_db()
        assert run.status == "cancelled" and run.lease_owner == ""
        last = run.timeline.order_by("-seq").first()
        assert (last.type, last.payload) == (
            "run.cancelled",
            {"by": "user:ops", "atStepBoundary": False},
        )
    forever = Step.objects.get(run=busy, step_id="forever")
    assert forever.status == "failed" and forever.error["code"] == "RUN_CANCELLED"
