"""The console's permission model, page by page (issue 7 item 7).

View-only staff see every console page and change nothing: no action control is rendered
for them and every action URL answers 403 with nothing written. Operating runs, deciding
approvals and editing workflows each need their own permission, and holding one of them
opens only its own door.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from coordination import services as coordination_services
from coordination.models import WorkflowVersion
from tests.factories import staff_client as client_with
from workflows import durable_function, temporarily_registered, trigger
from workflows.models import Approval, Run, TimelineEvent
from workflows.testing import clear, drain

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[1] / "coordination" / "examples" / "linear-review.json"

#: Every ``view_*`` permission of the console's apps: what a view-only operator holds.
VIEW_PERMISSIONS = (
    "workflows.view_run",
    "workflows.view_event",
    "workflows.view_approval",
    "coordination.view_workflowversion",
    "coordination.view_deskmemory",
)


@durable_function("t.perm.broken", retries=0)
def broken(ctx, step):
    return step.run("explode", lambda: 1 / 0)


@durable_function("t.perm.approve")
def approve(ctx, step):
    return step.wait_for_approval("sign-off", title="Ship it?", context={"risk": 2})


@dataclass
class World:
    failed: Run
    waiting: Run
    approval: Approval
    version: WorkflowVersion


@pytest.fixture
def world(inline_dispatch: None) -> Iterator[World]:
    with ExitStack() as stack:
        for function in (broken, approve):
            stack.enter_context(temporarily_registered(function))
        # Ids whose "_24" / "_40" Django's admin would read as escapes ("$", "@") unless
        # every console link quotes them.
        failed = trigger("t.perm.broken", {}, run_id="perm_24failed").run
        waiting = trigger("t.perm.approve", {}, run_id="perm_40waiting").run
        drain()
        version = coordination_services.workflow_save(
            document=json.loads(EXAMPLE.read_text()), by="setup"
        )
        failed.refresh_from_db()
        waiting.refresh_from_db()
        yield World(failed, waiting, Approval.objects.get(run=waiting), version)
    clear()


def snapshot() -> dict[str, object]:
    """What any action would change: runs' states, approvals, versions, audit rows."""
    return {
        "runs": sorted(Run.objects.values_list("id", "status", "cancel_requested_at")),
        "approvals": sorted(Approval.objects.values_list("id", "status")),
        "versions": WorkflowVersion.objects.count(),
        "timeline": TimelineEvent.objects.count(),
        "log": LogEntry.objects.count(),
    }


def pages(world: World) -> dict[str, str]:
    run_change = "admin:workflows_run_change"
    return {
        "dashboard": reverse("admin:index"),
        "run list": reverse("admin:workflows_run_changelist"),
        "failed run": reverse(run_change, args=[quote(world.failed.pk)]),
        "waiting run": reverse(run_change, args=[quote(world.waiting.pk)]),
        "canvas": reverse("admin:coordination_workflowversion_change", args=[world.version.pk]),
        "versions": reverse(
            "admin:coordination_workflowversion_versions", args=[world.version.workflow_id]
        ),
        "approvals inbox": reverse("admin:approvals"),
    }


def actions(world: World) -> dict[str, tuple[str, dict[str, str]]]:
    """Every action URL of the console with a body it would accept from its owner."""
    failed, waiting = quote(world.failed.pk), quote(world.waiting.pk)
    run_url = "admin:workflows_run_{}".format
    canvas = "admin:coordination_workflowversion_{}".format
    document = json.dumps(world.version.document)
    return {
        "cancel": (reverse(run_url("cancel"), args=[waiting]), {}),
        "retry": (reverse(run_url("retry"), args=[failed]), {}),
        "replay": (reverse(run_url("replay"), args=[failed]), {}),
        "replay with input": (reverse(run_url("replay"), args=[failed]), {"input": "{}"}),
        "decide on the run page": (
            reverse(run_url("decide"), args=[waiting]),
            {"approval_id": world.approval.pk, "decision": "approve", "payload": ""},
        ),
        "bulk cancel": (reverse("admin:workflows_run_bulk", args=["cancel"]), {}),
        "bulk retry": (reverse("admin:workflows_run_bulk", args=["retry"]), {}),
        "bulk replay": (reverse("admin:workflows_run_bulk", args=["replay"]), {}),
        "decide in the inbox": (
            reverse("admin:approvals"),
            {"approval_id": world.approval.pk, "decision": "approve", "payload": ""},
        ),
        "canvas validate": (reverse(canvas("validate")), {"document": document}),
        "canvas save": (reverse(canvas("save")), {"document": document}),
        "canvas run": (reverse(canvas("run"), args=[world.version.pk]), {"input": "{}"}),
    }


#: Which permission opens which actions (everything else stays 403 for its holder).
OWNERS = {
    "cancel_run": {"cancel", "bulk cancel"},
    "retry_run": {"retry", "bulk retry"},
    "replay_run": {"replay", "replay with input", "bulk replay"},
    "decide_approval": {"decide on the run page", "decide in the inbox"},
    "add_workflowversion": {"canvas validate", "canvas save", "canvas run"},
}


def test_view_only_staff_see_every_page_without_a_single_action_control(world: World) -> None:
    client = client_with(*VIEW_PERMISSIONS)
    action_paths = {url for url, _body in actions(world).values()}
    for name, url in pages(world).items():
        response = client.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        shown = sorted(path for path in action_paths if f'action="{path}"' in html)
        assert shown == [], f"{name} renders forms posting to {shown}"
        assert 'name="decision"' not in html, name
    # The list offers no bulk action to someone who may not act.
    listing = client.get(reverse("admin:workflows_run_changelist")).content.decode()
    assert 'name="action"' not in listing
    assert "all matching" not in listing


def test_view_only_staff_get_403_on_every_action_and_nothing_changes(world: World) -> None:
    client = client_with(*VIEW_PERMISSIONS)
    before = snapshot()
    for name, (url, body) in actions(world).items():
        assert client.post(url, body).status_code == 403, name
    assert snapshot() == before


@pytest.mark.parametrize("codename", sorted(OWNERS))
def test_each_permission_opens_only_its_own_actions(world: World, codename: str) -> None:
    app_label = "coordination" if codename == "add_workflowversion" else "workflows"
    client = client_with(*VIEW_PERMISSIONS, f"{app_label}.{codename}")
    before = snapshot()
    for name, (url, body) in actions(world).items():
        status = client.post(url, body).status_code
        assert status < 500, f"{name} answered {status}"
        if name in OWNERS[codename]:
            assert status != 403, f"{codename} should open {name}"
        else:
            assert status == 403, f"{codename} should not open {name} (got {status})"
    if codename in {"decide_approval", "cancel_run"}:
        # Acting on a run is audited in Django's admin log as well as on the timeline.
        assert LogEntry.objects.count() > before["log"]


def test_anonymous_visitors_are_sent_to_the_login_page(world: World) -> None:
    client = Client()
    for name, url in pages(world).items():
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], name
    for name, (url, body) in actions(world).items():
        response = client.post(url, body)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], name
    assert not LogEntry.objects.exists()


def test_every_console_link_to_a_run_survives_ids_that_look_like_admin_escapes(
    world: World,
) -> None:
    client = client_with(*VIEW_PERMISSIONS)
    inbox = client.get(reverse("admin:approvals")).content.decode()
    waiting_url = reverse("admin:workflows_run_change", args=[quote(world.waiting.pk)])
    assert f'href="{waiting_url}"' in inbox
    for run in (world.failed, world.waiting):
        page = client.get(reverse("admin:workflows_run_change", args=[quote(run.pk)]))
        assert page.status_code == 200
        assert run.pk in page.content.decode()
