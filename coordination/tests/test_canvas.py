"""The canvas's server side: validate, save, run, export, versions and diff, permissions.

These are the JSON endpoints ``static/console/canvas.js`` calls, driven with the test
client the way the page calls them (JSON bodies, session + CSRF handled by the client).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from coordination import services
from coordination.examples import example_documents
from coordination.models import WorkflowVersion
from workflows.models import Run

pytestmark = pytest.mark.django_db

VALIDATE = "admin:coordination_workflowversion_validate"
SAVE = "admin:coordination_workflowversion_save"
RUN = "admin:coordination_workflowversion_run"
EXPORT = "admin:coordination_workflowversion_export"
VERSIONS = "admin:coordination_workflowversion_versions"
CHANGE = "admin:coordination_workflowversion_change"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root() -> Client:
    return _client(get_user_model().objects.create_superuser("root", "root@example.test", "pw"))


@pytest.fixture
def viewer() -> Client:
    """Staff who may only view workflow versions."""
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_workflowversion"))
    return _client(user)


def post(client: Client, name: str, body: Any, *args: Any) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(reverse(name, args=args), text, content_type="application/json")


def linear() -> dict[str, Any]:
    return example_documents()[0]


def broken() -> dict[str, Any]:
    """linear-review with one problem of each kind the canvas pins on a desk or handoff."""
    document = linear()
    document["desks"][0]["outputSchema"] = {"type": "object", "properties": {}}
    document["desks"][2]["kind"] = "desk:unknown"
    return document


# -- validate ------------------------------------------------------------------------------


def test_validate_returns_each_issue_on_its_desk_or_handoff(root):
    response = post(root, VALIDATE, {"document": broken()})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert {(i["code"], i.get("deskId"), i.get("handoffId")) for i in body["issues"]} == {
        ("INCOMPATIBLE_HANDOFF", None, "h-analyze-execute"),
        ("UNKNOWN_DESK_KIND", "review", None),
    }
    assert post(root, VALIDATE, {"document": linear()}).json() == {"ok": True, "issues": []}
    assert not WorkflowVersion.objects.exists()


def test_validate_reports_every_code_with_what_it_concerns(root):
    document = linear()
    document["workflowId"] = "bad id!"
    document["entryDeskId"] = "nowhere"
    document["desks"].append(copy.deepcopy(document["desks"][1]))  # DUPLICATE_DESK_ID execute
    document["desks"].append(
        {**copy.deepcopy(document["desks"][1]), "deskId": "bad desk", "memoryScope": {"persist": 1}}
    )
    document["handoffs"] += [
        {"handoffId": "bad handoff", "fromDeskId": "review", "toDeskId": "analyze"},
        {"handoffId": "h-ghost-from", "fromDeskId": "ghost", "toDeskId": "review"},
        {"handoffId": "h-ghost-to", "fromDeskId": "review", "toDeskId": "ghost"},
    ]
    issues = post(root, VALIDATE, {"document": document}).json()["issues"]
    found = {(i["code"], i.get("deskId"), i.get("handoffId")) for i in issues}
    assert {
        ("INVALID_WORKFLOW_ID_FORMAT", None, None),
        ("MISSING_ENTRY_DESK", "nowhere", None),
        ("DUPLICATE_DESK_ID", "execute", None),
        ("INVALID_DESK_ID_FORMAT", "bad desk", None),
        ("INVALID_MEMORY_SCOPE", "bad desk", None),
        ("INVALID_HANDOFF_ID_FORMAT", None, "bad handoff"),
        ("EDGE_UNKNOWN_SOURCE", "ghost", "h-ghost-from"),
        ("EDGE_UNKNOWN_TARGET", "ghost", "h-ghost-to"),
        ("ILLEGAL_FAN_IN_WITHOUT_JOIN", "review", None),
        ("CYCLE_DETECTED", None, None),
    } <= found


def test_validate_points_shape_problems_at_their_desk(root):
    document = linear()
    document["desks"][1]["inputSchema"] = ["not", "an", "object"]
    issues = post(root, VALIDATE, {"document": document}).json()["issues"]
    assert issues == [
        {
            "code": "BAD_REQUEST",
            "message": "desks.1.inputSchema: Input should be a valid dictionary",
            "path": ["desks", 1, "inputSchema"],
            "deskId": "execute",
        }
    ]
    response = post(root, VALIDATE, "{not json")
    assert response.status_code == 400 and "Not valid JSON" in response.json()["message"]
    assert post(root, VALIDATE, {"document": None}).json()["issues"][0]["code"] == "BAD_REQUEST"


# -- save ----------------------------------------------------------------------------------


def test_save_stores_the_next_version_exactly_and_logs_it(root):
    response = post(root, SAVE, {"document": linear()})
    assert response.status_code == 200, response.content
    row = WorkflowVersion.objects.get()
    assert response.json() == {
        "ok": True,
        "url": reverse(CHANGE, args=[row.pk]),
        "workflowId": "linear-review",
        "version": 1,
    }
    stored = {k: v for k, v in row.document.items() if k != "updatedAt"}
    assert stored == linear() and row.created_by == "root"
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.change_message) == (
        str(row.pk),
        "Saved version 1 of linear-review (canvas)",
    )
    assert post(root, SAVE, {"document": linear()}).json()["version"] == 2


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"document": broken()}),
        json.dumps({"document": {**linear(), "desks": "none"}}),
        json.dumps({"document": None}),
        "{not json",
    ],
    ids=["invalid", "malformed", "missing", "not-json"],
)
def test_refused_save_says_why_and_stores_nothing(root, body):
    response = post(root, SAVE, body)
    assert response.status_code == 400
    data = response.json()
    assert data["ok"] is False and data["message"]
    if body != "{not json":
        assert data["issues"]
    assert not WorkflowVersion.objects.exists()
    assert not LogEntry.objects.exists()


# -- run -----------------------------------------------------------------------------------


def test_run_checks_input_against_the_entry_schema_before_queueing(root):
    row = services.workflow_save(document=linear(), by="seed")
    bad = post(root, RUN, {"input": {"body": 3}}, row.pk)
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        "(input): 'ticket' is a required property",
        "body: 3 is not of type 'string'",
    ]
    assert post(root, RUN, "{nope", row.pk).status_code == 400
    assert post(root, RUN, {"no": "input"}, row.pk).status_code == 400
    assert not Run.objects.exists()
    assert not LogEntry.objects.exists()


def test_run_starts_the_current_version_as_the_user(root):
    row = services.workflow_save(document=linear(), by="seed")
    response = post(root, RUN, {"input": {"ticket": "T-1"}}, row.pk)
    assert response.status_code == 200, response.content
    run = Run.objects.get()
    assert response.json() == {
        "ok": True,
        "runId": run.pk,
        "url": reverse("admin:workflows_run_change", args=[quote(run.pk)]),
    }
    assert run.function_id == "coordination.run"
    assert run.input == {
        "workflowId": "linear-review",
        "workflowVersion": 1,
        "input": {"ticket": "T-1"},
    }
    assert run.principal == "user:root"
    assert LogEntry.objects.get().change_message == f"Started run {run.pk} of linear-review v1"


def test_an_old_version_does_not_run(root):
    old = services.workflow_save(document=linear(), by="seed")
    services.workflow_save(document=linear(), by="seed")
    response = post(root, RUN, {"input": {"ticket": "T-1"}}, old.pk)
    assert response.status_code == 409 and "version 1" in response.json()["message"]
    assert not Run.objects.exists()
    page = root.get(reverse(CHANGE, args=[old.pk])).content.decode()
    assert 'id="canvas-run"' not in page and "not current" in page


# -- permissions ---------------------------------------------------------------------------


def test_view_only_staff_see_a_read_only_canvas_and_cannot_post(viewer):
    row = services.workflow_save(document=linear(), by="seed")
    page = viewer.get(reverse(CHANGE, args=[row.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for control in ("canvas-save", "canvas-run", "canvas-add-desk", "canvas-import"):
        assert f'id="{control}"' not in text
    assert 'id="canvas-readonly-notice"' in text
    assert page.context["canvas_config"]["editable"] is False

    assert post(viewer, VALIDATE, {"document": linear()}).status_code == 403
    assert post(viewer, SAVE, {"document": linear()}).status_code == 403
    assert post(viewer, RUN, {"input": {"ticket": "T"}}, row.pk).status_code == 403
    assert viewer.get(reverse("admin:coordination_workflowversion_add")).status_code == 403
    assert WorkflowVersion.objects.count() == 1 and not Run.objects.exists()
    # Reading stays allowed.
    assert viewer.get(reverse(EXPORT, args=[row.pk])).status_code == 200
    assert viewer.get(reverse(VERSIONS, args=["linear-review"])).status_code == 200


def test_staff_without_view_permission_see_nothing():
    user = get_user_model().objects.create_user("nobody", password="pw", is_staff=True)
    client = _client(user)
    row = services.workflow_save(document=linear(), by="seed")
    assert client.get(reverse(CHANGE, args=[row.pk])).status_code == 403
    assert client.get(reverse(EXPORT, args=[row.pk])).status_code == 403
    assert client.get(reverse(VERSIONS, args=["linear-review"])).status_code == 403


# -- export, versions, diff ----------------------------------------------------------------


def test_export_downloads_the_stored_document(root):
    row = services.workflow_save(document=linear(), by="seed")
    response = root.get(reverse(EXPORT, args=[row.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="linear-review-v1.json"'
    assert json.loads(response.content) == row.document
    assert root.get(reverse(EXPORT, args=[9999])).status_code == 404


def test_versions_page_diffs_any_two_versions_side_by_side(root):
    services.workflow_save(document=linear(), by="seed")
    second = linear()
    second["name"] = "Linear review, stricter"
    second["desks"][2]["responsibility"] = "Check twice."
    notify = {**copy.deepcopy(second["desks"][2]), "deskId": "notify"}
    second["desks"].append({**notify, "inputSchema": {"type": "object"}})
    second["handoffs"].append(
        {"handoffId": "h-review-notify", "fromDeskId": "review", "toDeskId": "notify"}
    )
    second["handoffs"][1]["condition"] = 'status == "ok"'
    services.workflow_save(document=second, by="seed")
    third = copy.deepcopy(second)
    third["description"] = "Third."
    services.workflow_save(document=third, by="seed")

    page = root.get(reverse(VERSIONS, args=["linear-review"]))
    assert [row.version for row in page.context["rows"]] == [3, 2, 1]
    assert (page.context["a"], page.context["b"]) == (2, 3)  # the latest change by default

    page = root.get(reverse(VERSIONS, args=["linear-review"]), {"a": "1", "b": "2"})
    diff = page.context["diff"]
    assert {(c["kind"], c["id"], c["change"]) for c in diff["changes"]} == {
        ("workflow", "name", "changed"),
        ("desk", "review", "changed: responsibility"),
        ("desk", "notify", "added"),
        ("handoff", "h-execute-review", "changed: condition"),
        ("handoff", "h-review-notify", "added"),
    }
    text = page.content.decode()
    assert 'class="diff"' in text  # difflib's side-by-side table
    assert "Linear review, stricter" in text and "version 1" in text and "version 2" in text
    assert 'id="diff-summary"' in text

    same = root.get(reverse(VERSIONS, args=["linear-review"]), {"a": "2", "b": "2"})
    assert same.context["diff"]["same"] is True
    odd = root.get(reverse(VERSIONS, args=["linear-review"]), {"a": "²", "b": "99"})
    assert odd.status_code == 200 and odd.context["diff"] is None
    assert root.get(reverse(VERSIONS, args=["nothing-here"])).status_code == 404


def test_canvas_survives_odd_stored_documents(root):
    """Rows written behind the service's back (old data, manual SQL) still render."""
    for document in (
        {"desks": "x", "handoffs": None, "name": None},
        {"desks": [None, 3, {"deskId": ["odd"], "kind": 7}], "handoffs": [{"fromDeskId": {}}]},
        {"name": "n" * 200_000, "desks": [], "handoffs": [], "entryDeskId": "<script>x</script>"},
        [1, 2, 3],
        "just a string \u0001",
    ):
        row = WorkflowVersion.objects.create(
            workflow_id=f"odd-{WorkflowVersion.objects.count()}",
            version=1,
            name="odd",
            entry_desk_id="",
            document=document,
            created_at=timezone.now(),
        )
        page = root.get(reverse(CHANGE, args=[row.pk]))
        assert page.status_code == 200
        assert "<script>x</script>" not in page.content.decode()
        assert page.context["issues"][0]["code"] == "BAD_REQUEST"
        assert root.get(reverse(EXPORT, args=[row.pk])).status_code == 200
        assert root.get(reverse(VERSIONS, args=[row.workflow_id])).status_code == 200


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('{"document": {"workflowId": "x", "version": NaN}}', "NaN is not JSON"),
        ('{"document": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_saving_what_json_is_not_answers_400_and_stores_nothing(root, body, why):
    url = reverse(SAVE)
    response = root.post(url, body, content_type="application/json")
    assert response.status_code == 400 and why in response.json()["message"]
    assert not WorkflowVersion.objects.exists()


def test_run_refuses_an_input_over_the_limits_before_checking_it(root):
    row = services.workflow_save(document=linear(), by="seed")
    too_deep: Any = "T"
    for _ in range(70):  # within the editor's JSON rules, over a run input's 64 levels
        too_deep = {"ticket": too_deep}
    refused = post(root, RUN, {"input": too_deep}, row.pk)
    assert refused.status_code == 400
    assert refused.json()["errors"][0].startswith("WORKFLOW_LIMIT_EXCEEDED: run input")
    assert not Run.objects.exists()
