"""``manage.py rawr scheduler --once`` and ``rawr schedules``: the scheduler as its own
process (one pass here) and the list with next and last tick."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from workflows.models import Run
from workflows.schedules.declarations import Declaration, temporarily_declared

pytestmark = pytest.mark.django_db


def _rawr(*args: str) -> str:
    out = StringIO()
    call_command("rawr", *args, stdout=out)
    return out.getvalue()


def test_one_pass_syncs_declarations_and_fires_due_ticks(functions, clock):
    with temporarily_declared(Declaration("t.sched.ping", "* * * * *", input={"n": 1})):
        assert "1 created" in _rawr("scheduler", "--once")
        assert "started 0 run(s)" in _rawr("scheduler", "--once")
        clock.advance(61)
        assert "started 1 run(s)" in _rawr("scheduler", "--once")
    (run,) = Run.objects.filter(correlation_id="schedule:declared.t.sched.ping")
    assert run.input == {"n": 1}
    (row,) = [json.loads(line) for line in _rawr("schedules", "--json").splitlines()]
    assert row["scheduleId"] == "declared.t.sched.ping"
    assert row["lastFireAt"] is not None
    assert row["nextFireAt"] > row["lastFireAt"]
