"""Stored workflow versions, import/export and desk memory (services and selectors)."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from coordination import selectors, services
from coordination.domain.document import iso_timestamp
from coordination.examples import example_documents
from coordination.models import Desk, DeskMemory, Handoff, WorkflowVersion
from rawr_site.contract.errors import RawrError

pytestmark = pytest.mark.django_db


def document(workflow_id: str = "wf-a", **extra: Any) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"ticket": {"type": "string"}},
        "required": ["ticket"],
    }
    return {
        "workflowId": workflow_id,
        "version": 1,
        "name": "A",
        "entryDeskId": "desk-a",
        "desks": [
            {
                "deskId": "desk-a",
                "kind": "desk:analysis",
                "name": "Desk A",
                "responsibility": "Analyze",
                "domain": "coordination",
                "inputSchema": schema,
                "outputSchema": schema,
                "memoryScope": {"persist": True, "namespace": "desk-a"},
            },
            {
                "deskId": "desk-b",
                "kind": "desk:execution",
                "name": "Desk B",
                "responsibility": "Execute",
                "domain": "coordination",
                "inputSchema": schema,
                "outputSchema": {"type": "object"},
                "memoryScope": {"persist": False},
            },
        ],
        "handoffs": [
            {
                "handoffId": "h-a-b",
                "fromDeskId": "desk-a",
                "toDeskId": "desk-b",
                "condition": "ticket != null",
            }
        ],
        **extra,
    }


def without_version(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("version", "updatedAt")}


# --- saving versions -------------------------------------------------------------------


def test_each_save_appends_the_next_version():
    first = services.workflow_save(document=document(), by="alice")
    second = services.workflow_save(document=document(name="A, renamed"), by="bob")
    third = services.workflow_save(document=document(version=99), by="carol")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert third.document["version"] == 3  # whatever the caller sent
    assert second.created_by == "bob"
    assert WorkflowVersion.objects.filter(workflow_id="wf-a").count() == 3


def test_saved_document_gets_version_and_updated_at():
    row = services.workflow_save(document=document(), by="alice")
    stored = row.document
    assert stored["version"] == 1
    updated_at = stored["updatedAt"]
    assert updated_at.endswith("Z") and len(updated_at) == len("2026-01-01T00:00:00.000Z")
    assert iso_timestamp(row.created_at) == updated_at
    assert row.name == "A" and row.entry_desk_id == "desk-a"


def test_save_does_not_change_the_callers_document():
    doc = document()
    before = copy.deepcopy(doc)
    services.workflow_save(document=doc, by="alice")
    assert doc == before


def test_desk_and_handoff_rows_follow_the_document():
    row = services.workflow_save(document=document(), by="alice")
    rows = Desk.objects.filter(workflow_version=row)
    desks = list(rows.values_list("position", "desk_id", "kind"))
    assert desks == [(0, "desk-a", "desk:analysis"), (1, "desk-b", "desk:execution")]
    handoff = Handoff.objects.get(workflow_version=row)
    assert (handoff.handoff_id, handoff.from_desk_id, handoff.to_desk_id) == (
        "h-a-b",
        "desk-a",
        "desk-b",
    )
    assert handoff.condition == "ticket != null"


def test_old_versions_stay_readable_and_unchanged():
    services.workflow_save(document=document(), by="alice")
    v1 = selectors.workflow_get(workflow_id="wf-a", version=1)
    services.workflow_save(document=document(name="B", description="new"), by="alice")

    assert selectors.workflow_get(workflow_id="wf-a", version=1) == v1
    assert selectors.workflow_get(workflow_id="wf-a", version=1)["name"] == "A"
    latest = selectors.workflow_get(workflow_id="wf-a")
    assert latest["version"] == 2 and latest["name"] == "B"
    assert selectors.workflow_get(workflow_id="wf-a", version=3) is None
    assert selectors.workflow_get(workflow_id="nope") is None
    assert [h["version"] for h in selectors.workflow_history(workflow_id="wf-a")] == [2, 1]


def test_list_gives_the_latest_version_of_each_workflow():
    services.workflow_save(document=document("wf-b"), by="x")
    services.workflow_save(document=document("wf-a"), by="x")
    services.workflow_save(document=document("wf-b", name="B2"), by="x")
    listed = selectors.workflow_list()
    assert [(d["workflowId"], d["version"], d["name"]) for d in listed] == [
        ("wf-a", 1, "A"),
        ("wf-b", 2, "B2"),
    ]


def test_malformed_document_is_a_bad_request_and_stores_nothing():
    doc = document()
    del doc["desks"]
    with pytest.raises(RawrError) as caught:
        services.workflow_save(document=doc, by="alice")
    assert (caught.value.code, caught.value.status) == ("BAD_REQUEST", 400)
    assert caught.value.data["issues"][0]["path"] == ["desks"]
    assert not WorkflowVersion.objects.exists()


def test_invalid_document_is_refused_with_the_validation_result():
    doc = document()
    doc["desks"][0]["outputSchema"] = {"type": "object", "properties": {}, "required": []}
    doc["desks"][1]["memoryScope"] = {"persist": "no"}
    with pytest.raises(RawrError) as caught:
        services.workflow_save(document=doc, by="alice")
    error = caught.value
    assert (error.code, error.status, error.message) == (
        "WORKFLOW_VALIDATION_FAILED",
        400,
        "Workflow validation failed",
    )
    assert error.data["ok"] is False
    assert [(e["code"], e.get("deskId"), e.get("handoffId")) for e in error.data["errors"]] == [
        ("INVALID_MEMORY_SCOPE", "desk-b", None),
        ("INCOMPATIBLE_HANDOFF", None, "h-a-b"),
    ]
    assert not WorkflowVersion.objects.exists()
    assert not Desk.objects.exists()


def test_a_refused_save_leaves_earlier_versions_alone():
    services.workflow_save(document=document(), by="alice")
    with pytest.raises(RawrError):
        services.workflow_save(document=document(entryDeskId="ghost"), by="alice")
    assert list(WorkflowVersion.objects.values_list("version", flat=True)) == [1]


# --- import / export -------------------------------------------------------------------


@pytest.mark.parametrize("doc", example_documents(), ids=lambda d: d["workflowId"])
def test_examples_round_trip(doc):
    services.workflow_import(document=doc, by="importer")
    exported = selectors.workflow_export(workflow_id=doc["workflowId"])
    assert without_version(exported) == without_version(doc)


def test_unknown_keys_round_trip_exactly():
    doc = document(
        **{
            "x-owner": {"team": "ops", "tags": ["a", 1, None, 2.5]},
            "observabilityProfile": "full",
            "description": "with extras",
        }
    )
    doc["desks"][0]["x-ui"] = {"position": {"x": 10, "y": -4.25}}
    doc["desks"][0]["runtimePolicy"] = {"retries": 1, "priority": "high", "x-extra": True}
    doc["desks"][1]["memoryScope"]["x-note"] = "kept"
    doc["handoffs"][0]["mappingRefs"] = {"ticket": "$.ticket"}
    doc["handoffs"][0]["x-label"] = "go"
    doc["desks"][0]["inputSchema"]["additionalProperties"] = False
    doc["desks"][0]["inputSchema"]["$comment"] = "schemas are stored verbatim"

    services.workflow_import(document=doc, by="importer")
    exported = selectors.workflow_export(workflow_id="wf-a")
    assert without_version(exported) == without_version(doc)

    # Exporting and importing again gives the same document, one version later.
    again = services.workflow_import(document=exported, by="importer")
    assert again.version == 2
    assert without_version(again.document) == without_version(doc)


def test_example_documents_are_fresh_copies():
    first = example_documents()
    first[0]["name"] = "changed"
    assert example_documents()[0]["name"] != "changed"
    assert services.example_documents is example_documents


# --- desk memory -----------------------------------------------------------------------


def read(version: int = 1, desk_id: str = "desk-a", workflow_id: str = "wf-a") -> dict[str, Any]:
    return selectors.memory_read(workflow_id=workflow_id, workflow_version=version, desk_id=desk_id)


def write(key: str, data: Any, *, version: int = 1, desk_id: str = "desk-a", ttl=None):
    return services.memory_write(
        workflow_id="wf-a",
        workflow_version=version,
        desk_id=desk_id,
        key=key,
        data=data,
        ttl_seconds=ttl,
    )


def test_memory_write_then_read():
    write("default", {"hello": "world"}, ttl=60)
    write("other", [1, 2])
    assert read() == {"default": {"hello": "world"}, "other": [1, 2]}


def test_memory_write_is_an_upsert():
    write("default", 1, ttl=60)
    write("default", 2)
    assert read() == {"default": 2}
    record = DeskMemory.objects.get()
    assert record.expires_at is None  # rewriting replaces the expiry too


def test_memory_is_isolated_by_version_and_desk():
    write("k", "v1", version=1)
    write("k", "v2", version=2)
    write("k", "other desk", desk_id="desk-b")
    assert read(version=1) == {"k": "v1"}
    assert read(version=2) == {"k": "v2"}
    assert read(version=3) == {}
    assert read(desk_id="desk-b") == {"k": "other desk"}
    assert read(workflow_id="wf-other") == {}


def test_expired_memory_is_ignored():
    write("short", "gone", ttl=30)
    write("long", "kept", ttl=3600)
    write("forever", "kept")
    assert read() == {"short": "gone", "long": "kept", "forever": "kept"}
    DeskMemory.objects.filter(key="short").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert read() == {"long": "kept", "forever": "kept"}


@pytest.mark.parametrize("ttl", [None, 0, -5, True])
def test_non_positive_ttl_means_no_expiry(ttl):
    record = write("k", 1, ttl=ttl)
    assert record.expires_at is None


def test_ttl_sets_the_expiry():
    before = timezone.now()
    record = write("k", 1, ttl=90)
    assert (
        before + timedelta(seconds=89) < record.expires_at < timezone.now() + timedelta(seconds=91)
    )


@pytest.mark.parametrize(
    ("workflow_id", "desk_id", "key"),
    [("../escape", "desk-a", "k"), ("wf-a", "desk a", "k"), ("wf-a", "desk-a", "")],
)
def test_memory_write_refuses_unsafe_ids(workflow_id, desk_id, key):
    with pytest.raises(RawrError) as caught:
        services.memory_write(
            workflow_id=workflow_id, workflow_version=1, desk_id=desk_id, key=key, data=1
        )
    assert caught.value.status == 400
    assert not DeskMemory.objects.exists()


# --- concurrency -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
def test_concurrent_saves_get_distinct_versions():
    """Eight saves at once, including the race for the very first version."""
    count = 8
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def save(n: int) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            services.workflow_save(document=document("wf-race", name=f"save {n}"), by=f"t{n}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    versions = sorted(
        WorkflowVersion.objects.filter(workflow_id="wf-race").values_list("version", flat=True)
    )
    assert versions == list(range(1, count + 1))
    assert Desk.objects.filter(workflow_version__workflow_id="wf-race").count() == 2 * count
