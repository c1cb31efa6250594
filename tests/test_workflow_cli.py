"""``manage.py rawr workflow ...``: the original's coord commands, exit codes 0/1/2."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from coordination.examples import example_documents
from workflows.testing import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_dispatch")]


def rawr(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("rawr", "workflow", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def fanout_file(tmp_path):
    path = tmp_path / "fanout.json"
    doc = next(d for d in example_documents() if d["workflowId"] == "fanout-approval")
    path.write_text(json.dumps(doc))
    return path


def test_create_validate_run_status_trace_approve(fanout_file) -> None:
    code, out, _ = rawr("create", str(fanout_file), "--json")
    assert code == 0 and json.loads(out)["workflow"]["version"] == 1
    code, out, _ = rawr("validate", "fanout-approval")
    assert (code, out.strip()) == (0, "fanout-approval: valid")

    code, out, _ = rawr(
        "run", "fanout-approval", "--input", '{"order": 1}', "--run-id", "cli-1", "--json"
    )
    assert code == 0 and json.loads(out)["run"]["runId"] == "cli-1"
    drain()
    code, out, _ = rawr("status", "cli-1", "--json")
    assert code == 0 and json.loads(out)["status"] == "running"

    code, out, _ = rawr("approve", "cli-1", "approval", "--payload", '{"ok": true}')
    assert code == 0 and "approved desk approval of run cli-1" in out
    drain()
    code, out, _ = rawr("status", "cli-1")
    assert code == 0 and out.startswith("run cli-1: completed")
    code, out, _ = rawr("trace", "cli-1", "--json")
    types = [event["type"] for event in json.loads(out)["timeline"]]
    assert code == 0 and types[0] == "run.started" and types[-1] == "run.completed"


def test_failures_exit_1_and_bad_usage_exits_2(tmp_path, fanout_file) -> None:
    code, _, err = rawr("status", "no-such-run")
    assert code == 1 and "RUN_NOT_FOUND" in err
    code, out, err = rawr("validate", "missing-workflow", "--json")
    assert code == 1 and json.loads(out)["code"] == "WORKFLOW_NOT_FOUND"

    broken = json.loads(fanout_file.read_text())
    broken["desks"][0]["kind"] = "desk:nope"
    bad_doc = tmp_path / "bad.json"
    bad_doc.write_text(json.dumps(broken))
    code, _, err = rawr("create", str(bad_doc))
    assert code == 1 and "UNKNOWN_DESK_KIND" in err

    code, _, err = rawr("create", str(tmp_path / "absent.json"))
    assert code == 2 and "no such file" in err
    code, _, err = rawr("run", "fanout-approval", "--input", "{not json")
    assert code == 2 and "--input is not valid JSON" in err

    rawr("create", str(fanout_file))
    rawr("run", "fanout-approval", "--run-id", "cli-2")
    drain()
    code, _, err = rawr("approve", "cli-2", "ship")
    assert code == 1 and "DESK_NOT_WAITING" in err


def test_status_and_run_wait_say_which_desk_waits_for_approval(fanout_file) -> None:
    rawr("create", str(fanout_file))
    rawr("run", "fanout-approval", "--run-id", "cli-wait")
    drain()

    code, out, _ = rawr("status", "cli-wait")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("run cli-wait: running")
    assert lines[1].startswith("  waiting for approval at desk approval since 20")
    assert "(times out at 20" in lines[1]
    code, out, _ = rawr("status", "cli-wait", "--json")
    waiting = json.loads(out)["waitingFor"]
    assert waiting["deskId"] == "approval" and waiting["since"] < waiting["timeoutAt"]

    # Re-running with the same id is idempotent; --wait gives up and says why.
    code, _, err = rawr(
        "run", "fanout-approval", "--run-id", "cli-wait", "--wait", "--timeout", "0.2"
    )
    assert code == 1
    assert "run cli-wait: running (waiting for approval at desk approval since" in err
    assert "still running after 0.2s: waiting for approval at desk approval" in err
    assert "rawr workflow approve cli-wait approval" in err
    assert "is a worker running" not in err

    code, out, _ = rawr("approve", "cli-wait", "approval", "--reject")
    assert code == 0 and out.startswith("rejected desk approval of run cli-wait")
    drain()
    code, out, _ = rawr("status", "cli-wait")
    assert code == 1 and "waiting for approval" not in out and "rejected by system:cli" in out


def test_run_wait_without_a_worker_still_blames_the_missing_worker(fanout_file) -> None:
    rawr("create", str(fanout_file))
    code, _, err = rawr(
        "run", "fanout-approval", "--run-id", "cli-idle", "--wait", "--timeout", "0.2"
    )
    assert code == 1 and "run cli-idle: queued" in err
    assert "is a worker running? `celery -A rawr_site worker`" in err
    assert "waiting for approval" not in err
