"""The coordination admin: JSON import through the service, codes on refusal, read-only rows.

The canvas endpoints (validate, save, run, export, versions) are in ``test_canvas.py``.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from coordination import selectors, services
from coordination.examples import example_documents
from coordination.models import DeskMemory, WorkflowVersion

pytestmark = pytest.mark.django_db

ADD_URL = "admin:coordination_workflowversion_add"
LIST_URL = "admin:coordination_workflowversion_changelist"


@pytest.fixture
def admin_client_() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    client = Client()
    client.force_login(user)
    return client


def post_document(client: Client, document) -> object:
    text = document if isinstance(document, str) else json.dumps(document)
    return client.post(reverse(ADD_URL), {"document_json": text})


def test_import_saves_through_the_service(admin_client_):
    linear = example_documents()[0]
    response = post_document(admin_client_, linear)
    assert response.status_code == 302
    row = WorkflowVersion.objects.get()
    # The import opens the new version's canvas.
    assert response.url == reverse("admin:coordination_workflowversion_change", args=[row.pk])
    assert (row.workflow_id, row.version, row.created_by) == ("linear-review", 1, "root")
    assert row.desks.count() == 3 and row.handoffs.count() == 2
    exported = selectors.workflow_export(workflow_id="linear-review")
    assert {k: v for k, v in exported.items() if k != "updatedAt"} == linear

    post_document(admin_client_, linear)
    assert selectors.workflow_get(workflow_id="linear-review")["version"] == 2


def test_refused_import_shows_codes_and_stores_nothing(admin_client_):
    document = example_documents()[0]
    document["desks"][0]["outputSchema"] = {"type": "object", "properties": {}}
    document["desks"][2]["kind"] = "desk:unknown"
    response = post_document(admin_client_, document)
    assert response.status_code == 200
    text = response.content.decode()
    expected = "INCOMPATIBLE_HANDOFF (h-analyze-execute): Handoff h-analyze-execute is incompatible"
    assert expected in text
    assert "UNKNOWN_DESK_KIND (review): Unknown desk kind for review: desk:unknown" in text
    assert not WorkflowVersion.objects.exists()


def test_malformed_imports_store_nothing(admin_client_):
    response = post_document(admin_client_, "{not json")
    assert "Not valid JSON" in response.content.decode()

    document = example_documents()[0]
    document["desks"] = "none"
    response = post_document(admin_client_, document)
    assert "BAD_REQUEST (desks): Input should be a valid list" in response.content.decode()

    response = post_document(admin_client_, "[]")
    assert "BAD_REQUEST (document): Document must be a JSON object" in response.content.decode()
    assert not WorkflowVersion.objects.exists()


def test_changelist_shows_versions_with_desk_counts(admin_client_):
    for document in example_documents():
        services.workflow_save(document=document, by="seed")
    services.workflow_save(document=example_documents()[0], by="seed")
    response = admin_client_.get(reverse(LIST_URL))
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert {(r.workflow_id, r.version, r.desk_total) for r in rows} == {
        ("fanout-approval", 1, 6),
        ("linear-review", 1, 3),
        ("linear-review", 2, 3),
    }
    current = admin_client_.get(reverse(LIST_URL), {"versions": "current"})
    assert {(r.workflow_id, r.version) for r in current.context["cl"].result_list} == {
        ("fanout-approval", 1),
        ("linear-review", 2),
    }
    found = admin_client_.get(reverse(LIST_URL), {"q": "fanout"})
    assert [r.workflow_id for r in found.context["cl"].result_list] == ["fanout-approval"]


def test_versions_are_read_only(admin_client_):
    row = services.workflow_save(document=example_documents()[1], by="seed")
    change_url = reverse("admin:coordination_workflowversion_change", args=[row.pk])
    page = admin_client_.get(change_url)
    assert page.status_code == 200
    # The version's page is its canvas: the desks and handoffs are listed (server-side)...
    desks = page.context["desks"]
    assert [(d["deskId"], d["kind"]) for d in desks][3:5] == [
        ("merge", "desk:join"),
        ("approval", "desk:human-wait"),
    ]
    text = page.content.decode()
    assert 'data-desk-id="merge"' in text and "desk:human-wait" in text
    assert 'data-handoff-id="h-approval-ship"' in text
    # ...and editing makes a NEW version: there is no change form of this one.
    assert 'name="_save"' not in text
    assert 'id="canvas-save"' in text and "Save as new version" in text

    before = dict(WorkflowVersion.objects.values().get(pk=row.pk))
    assert admin_client_.post(change_url, {"document_json": "{}"}).status_code == 403
    assert dict(WorkflowVersion.objects.values().get(pk=row.pk)) == before

    delete_url = reverse("admin:coordination_workflowversion_delete", args=[row.pk])
    assert admin_client_.post(delete_url, {"post": "yes"}).status_code == 403
    assert WorkflowVersion.objects.filter(pk=row.pk).exists()


def test_add_canvas_and_import_form_can_start_from_a_stored_version(admin_client_):
    services.workflow_save(document=example_documents()[0], by="seed")
    services.workflow_save(document={**example_documents()[0], "name": "Second"}, by="seed")
    canvas = admin_client_.get(reverse(ADD_URL), {"from": "linear-review", "version": "1"})
    assert canvas.templates[0].name.endswith("workflowversion/canvas.html")
    initial = canvas.context["document"]
    assert (initial["version"], initial["name"]) == (1, "Linear review")
    latest = admin_client_.get(reverse(ADD_URL), {"from": "linear-review"})
    assert latest.context["document"]["version"] == 2
    empty = admin_client_.get(reverse(ADD_URL))
    assert empty.context["document"]["desks"] == [] and empty.context["original"] is None

    form = admin_client_.get(
        reverse(ADD_URL), {"form": "import", "from": "linear-review", "version": "1"}
    )
    document = json.loads(form.context["adminform"].form.initial["document_json"])
    assert (document["version"], document["name"]) == (1, "Linear review")
    odd = admin_client_.get(reverse(ADD_URL), {"from": "linear-review", "version": "²"})
    assert odd.status_code == 200 and odd.context["document"]["version"] == 2


def test_desk_memory_admin_is_read_only(admin_client_):
    services.memory_write(
        workflow_id="wf-a", workflow_version=1, desk_id="desk-a", key="k", data={"x": 1}
    )
    record = DeskMemory.objects.get()
    assert admin_client_.get(reverse("admin:coordination_deskmemory_changelist")).status_code == 200
    page = admin_client_.get(reverse("admin:coordination_deskmemory_change", args=[record.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client_.get(reverse("admin:coordination_deskmemory_add")).status_code == 403


def test_staff_without_add_permission_cannot_import():
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    client = Client()
    client.force_login(user)
    assert post_document(client, example_documents()[0]).status_code == 403
    assert not WorkflowVersion.objects.exists()
