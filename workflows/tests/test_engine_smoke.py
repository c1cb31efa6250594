import pytest

from workflows import durable_function, temporarily_registered, trigger
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)
calls = []


def test_smoke():
    @durable_function("t.smoke", retries=1, backoff_base=0)
    def smoke(ctx, step):
        a = step.run("a", lambda: calls.append("a") or 1)
        b = step.run("b", lambda: calls.append("b") or a + 1)
        step.sleep("nap", seconds=0)
        return {"b": b}

    with temporarily_registered(smoke):
        run = trigger("t.smoke", {}).run
        drain()
        run.refresh_from_db()
        print(run.status, run.output, run.error)
        print(list(run.timeline.values_list("seq", "type", "step_id")))
        assert run.status == "completed"
        assert calls == ["a", "b"]
