"""Runs belong to their callers: idempotency keys are scoped to a caller (and a workflow)
and remember the input, run ids cannot be taken over, and a signed-in user reads only the
runs they started.

Through the published routes with two API keys: the same key from the same caller with the
same body returns the first run; with another body it is 422; another caller's or another
workflow's identical key starts its own run; after the 24 h window a key is free again.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from capabilities.search.models import Document
from tests.factories import issue_key
from workflows.models import Run

pytestmark = pytest.mark.django_db

ENRICH = "/api/workflows/search/enrich"


@pytest.fixture
def callers(inline_dispatch) -> tuple[Client, Client]:
    return tuple(  # type: ignore[return-value]
        Client(HTTP_AUTHORIZATION=f"Bearer {issue_key(name=name).secret}")
        for name in ("acme", "globex")
    )


@pytest.fixture
def documents() -> tuple[int, int]:
    first = Document.objects.create(title="one", body="alpha beta")
    second = Document.objects.create(title="two", body="gamma delta")
    return first.pk, second.pk


def _enrich(client: Client, document_id: int, key: str):
    return client.post(
        ENRICH,
        {"documentId": document_id},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_idempotency_table(callers, documents) -> None:
    acme, globex = callers
    doc, other_doc = documents

    first = _enrich(acme, doc, "order-1")
    assert first.status_code == 202, first.content
    run_id = first.json()["runId"]

    same = _enrich(acme, doc, "order-1")
    assert (same.status_code, same.json()["runId"]) == (202, run_id)

    changed = _enrich(acme, other_doc, "order-1")
    assert changed.status_code == 422
    assert changed.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert changed.json()["data"] == {"idempotencyKey": "order-1", "runId": run_id}

    theirs = _enrich(globex, doc, "order-1")
    assert theirs.status_code == 202 and theirs.json()["runId"] != run_id

    assert Run.objects.filter(function_id="search.enrich").count() == 2


def test_a_key_is_free_again_after_the_window(callers, documents, settings) -> None:
    acme, _ = callers
    doc, other_doc = documents
    old = _enrich(acme, doc, "nightly").json()["runId"]
    Run.objects.filter(pk=old).update(
        created_at=Run.objects.get(pk=old).created_at
        - timedelta(seconds=settings.RAWR_IDEMPOTENCY_WINDOW_SECONDS + 1)
    )

    fresh = _enrich(acme, other_doc, "nightly")

    assert fresh.status_code == 202 and fresh.json()["runId"] != old
    assert Run.objects.get(pk=old).idempotency_key == ""  # history kept, key released
    assert Run.objects.get(pk=fresh.json()["runId"]).idempotency_key == "nightly"


def test_another_callers_run_id_is_not_handed_out(callers, documents) -> None:
    acme, globex = callers
    doc, _ = documents
    mine = acme.post(ENRICH, {"documentId": doc, "runId": "run-acme-1"}, "application/json")
    assert mine.status_code == 202

    stolen = globex.post(ENRICH, {"documentId": doc, "runId": "run-acme-1"}, "application/json")

    assert stolen.status_code == 409 and stolen.json()["code"] == "RUN_ID_CONFLICT"
    assert "runId" in stolen.json()["data"]


def test_a_signed_in_user_reads_only_the_runs_they_started(inline_dispatch, documents) -> None:
    from tests.conftest import csrf_headers
    from tests.factories import UserFactory

    def session(name: str) -> tuple[Client, dict[str, str]]:
        client = Client(enforce_csrf_checks=True)
        client.force_login(UserFactory(username=name))
        return client, csrf_headers(client)

    def rpc(client: Client, headers: dict[str, str], procedure: str, payload: dict):
        return client.post(
            f"/rpc/search/{procedure}",
            json.dumps({"json": payload}),
            content_type="application/json",
            **headers,
        )

    (ann, ann_csrf), (bob, bob_csrf) = session("ann"), session("bob")
    doc, _ = documents
    started = rpc(ann, ann_csrf, "enrich", {"documentId": doc})
    run_id = started.json()["json"]["runId"]

    mine = rpc(ann, ann_csrf, "workflowRun", {"runId": run_id})
    theirs = rpc(bob, bob_csrf, "workflowRunTimeline", {"runId": run_id})

    assert mine.status_code == 200 and mine.json()["json"]["runId"] == run_id
    assert theirs.status_code == 404 and theirs.json()["json"]["code"] == "RUN_NOT_FOUND"
