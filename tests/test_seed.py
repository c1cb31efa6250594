"""``manage.py rawr seed``: realistic runs in bulk that satisfy the runtime's invariants."""

from __future__ import annotations

import io
import json
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.test import Client

from coordination.seed import BIG_PREFIX, BIG_TIMELINE_ROWS, SEED_PREFIX
from tests.factories import UserFactory
from workflows.models import FINISHED_STATUSES, Approval, Run, Step, TimelineEvent

pytestmark = pytest.mark.django_db

N = 300


def _seed(*args: str) -> dict:
    out = io.StringIO()
    call_command("rawr", "seed", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def _db_counts() -> dict[str, int]:
    return {
        "runs": Run.objects.filter(id__startswith=SEED_PREFIX)
        .exclude(id__startswith=BIG_PREFIX)
        .count(),
        "bigTimelineRuns": Run.objects.filter(id__startswith=BIG_PREFIX).count(),
        "steps": Step.objects.filter(run__id__startswith=SEED_PREFIX).count(),
        "timelineRows": TimelineEvent.objects.filter(run__id__startswith=SEED_PREFIX).count(),
        "approvals": Approval.objects.filter(run__id__startswith=SEED_PREFIX).count(),
    }


@pytest.fixture
def seeded() -> dict:
    return _seed("--runs", str(N), "--big-timelines", "1")


def test_seed_makes_n_runs_and_its_json_counts_equal_the_database(seeded) -> None:
    db = _db_counts()
    assert db["runs"] == N and db["bigTimelineRuns"] == 1
    for key, count in db.items():
        assert seeded[key] == {"created": count, "existing": 0, "total": count}, key
    assert seeded["rowsCreated"] == sum(db.values())
    big = Run.objects.get(id__startswith=BIG_PREFIX)
    assert big.function_id == "coordination.run" and big.status == "completed"
    assert big.timeline.count() == BIG_TIMELINE_ROWS == big.next_seq - 1


def test_seeded_runs_keep_the_runtime_invariants(seeded) -> None:
    seqs: dict[str, list[int]] = defaultdict(list)
    for run_id, seq in TimelineEvent.objects.values_list("run_id", "seq"):
        seqs[run_id].append(seq)
    positions: dict[str, list[int]] = defaultdict(list)
    for run_id, position in Step.objects.values_list("run_id", "position"):
        positions[run_id].append(position)
    statuses = set()
    for run in Run.objects.filter(id__startswith=SEED_PREFIX).iterator():
        statuses.add(run.status)
        # Timeline: 1..n without gaps or repeats, and next_seq right after the last.
        assert sorted(seqs[run.pk]) == list(range(1, run.next_seq)), run.pk
        assert sorted(positions[run.pk]) == list(range(len(positions[run.pk]))), run.pk
        assert (run.finished_at is not None) == (run.status in FINISHED_STATUSES), run.pk
        if run.status == "failed":
            assert run.error["code"] and "\n" in run.error["traceback"], run.pk
        if run.function_id == "coordination.run":
            assert set(run.input) == {"workflowId", "workflowVersion", "input"}
    assert statuses >= {"completed", "failed", "cancelled", "queued", "running", "waiting"}
    # Every pending approval belongs to a run waiting at that very step.
    for approval in Approval.objects.filter(status="pending").select_related("run"):
        assert approval.run.status == "waiting"
        step = Step.objects.get(run=approval.run, step_id=approval.step_id)
        assert (step.kind, step.status) == ("approval", "waiting")
    # A waiting or sleeping run is parked on exactly one step of a kind that parks.
    parked = {"waiting": {"wait_for_event", "approval", "invoke"}, "sleeping": {"sleep"}}
    for run in Run.objects.filter(id__startswith=SEED_PREFIX, status__in=parked):
        kinds = list(run.steps.filter(status=run.status).values_list("kind", flat=True))
        assert len(kinds) == 1 and kinds[0] in parked[run.status], run.pk
    assert Approval.objects.filter(run__function_id="coordination.run").exists()
    assert Run.objects.filter(id__startswith=SEED_PREFIX, parent_run__isnull=False).exists()
    assert Step.objects.filter(step_id__startswith="desk/").exists()
    assert TimelineEvent.objects.filter(type="desk.completed").exists()


def test_rerunning_tops_up_instead_of_duplicating(seeded) -> None:
    before = _db_counts()
    again = _seed("--runs", str(N), "--big-timelines", "1")
    assert _db_counts() == before
    for key, count in before.items():
        assert again[key] == {"created": 0, "existing": count, "total": count}, key
    more = _seed("--runs", str(N + 20), "--big-timelines", "1")
    assert more["runs"] == {"created": 20, "existing": N, "total": N + 20}
    assert _db_counts()["runs"] == N + 20


def test_seeded_pages_render_for_a_superuser(seeded) -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/workflows/run/").status_code == 200
    assert client.get("/admin/workflows/run/", {"status": "failed"}).status_code == 200
    for status in ("failed", "waiting"):
        run = Run.objects.filter(id__startswith=SEED_PREFIX, status=status).first()
        response = client.get(f"/admin/workflows/run/{run.pk}/change/")
        assert response.status_code == 200, status
        assert run.pk in response.content.decode()
