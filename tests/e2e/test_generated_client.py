"""A Python client generated from ``openapi/rawr.yaml`` drives the project end to end.

``openapi-python-client`` (what an external integrator would run) generates a package from
the committed schema with ``--fail-on-warning``: a model it cannot build (two components
with one title, an impossible default) fails the test. The client then talks to a live
server whose runs the session's real Celery worker executes: search (index, query), the
enrich trigger with an ``Idempotency-Key``, run polling, a coordination run queued and
approved at its human-wait desk, and ``/api/runs`` paged by its cursor parameter. The
client parses every answer into its models (``raise_on_unexpected_status``; a missing
field or an unknown enum value raises), so what the server sends must be what the schema
says.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from coordination.examples import example_documents
from tests.factories import issue_key
from workflows.models import Run

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_process"),
]

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "openapi" / "rawr.yaml"
PACKAGE = "rawr_generated_client"
POLL_SECONDS = 60.0


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Iterator[ModuleType]:
    """The generated package, imported from a temp dir (and forgotten afterwards)."""
    out = tmp_path_factory.mktemp("client")
    venv_bin = Path(sys.executable).parent
    proc = subprocess.run(
        [
            str(venv_bin / "openapi-python-client"),
            "generate",
            "--path",
            str(SCHEMA),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
            "--fail-on-warning",
        ],
        cwd=out,
        # The generator formats its output with ruff (a dev dependency of the project).
        env={**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Warning" not in output, output
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _op(name: str) -> ModuleType:
    tag = name.split("_", 1)[0]
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def _models() -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.models")


def _until(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached in {POLL_SECONDS} s; last answer {value!r}")
        time.sleep(0.2)


@pytest.fixture
def client(generated, live_server):
    key = issue_key(name="generated python client")
    return generated.AuthenticatedClient(
        base_url=live_server.url, token=key.secret, raise_on_unexpected_status=True
    )


def test_search_index_query_and_enrich_with_an_idempotency_key(client) -> None:
    m = _models()
    document = _op("search_index_document").sync(
        client=client,
        body=m.DocumentInput(
            title="Generated clients", body="Schemas clients can trust", tags=["openapi"]
        ),
    )
    assert isinstance(document, m.Document), document
    assert document.title == "Generated clients" and document.tags == ["openapi"]

    found = _op("search_query").sync(client=client, q="schemas", tags=["openapi"], limit=5)
    assert isinstance(found, m.QueryResult), found
    assert [hit.document_id for hit in found.results] == [document.document_id]
    assert found.total == 1

    missing = _op("search_get_document").sync(document_id=987654321, client=client)
    assert isinstance(missing, m.SearchGetDocumentResponse404), missing
    assert missing.code == m.SearchGetDocumentResponse404Code.DOCUMENT_NOT_FOUND
    assert missing.defined is True

    key = f"enrich-{uuid.uuid4().hex}"
    enrich = _op("search_enrich")
    body = m.EnrichInputTrigger(document_id=document.document_id)
    first = enrich.sync_detailed(client=client, body=body, idempotency_key=key)
    again = enrich.sync_detailed(client=client, body=body, idempotency_key=key)
    assert first.status_code == again.status_code == 202
    assert isinstance(first.parsed, m.TriggerAccepted), first.parsed
    assert again.parsed.run_id == first.parsed.run_id, "the key dedupes the retry"
    other = enrich.sync(
        client=client, body=m.EnrichInputTrigger(document_id=10**9), idempotency_key=key
    )
    assert isinstance(other, m.SearchEnrichResponse422), other
    assert other.code == m.SearchEnrichResponse422Code.IDEMPOTENCY_KEY_REUSED

    run_id = first.parsed.run_id
    poll = _op("search_workflow_run")
    run = _until(
        lambda: poll.sync(run_id=run_id, client=client),
        lambda r: isinstance(r, m.WorkflowRun) and r.status.value in ("completed", "failed"),
        f"enrich run {run_id}",
    )
    assert run.status == m.WorkflowRunStatus.COMPLETED, run.error
    assert run.finished_at is not None and run.started_at is not None
    timeline = _op("search_workflow_run_timeline").sync(run_id=run_id, client=client)
    assert isinstance(timeline, m.WorkflowTimeline), timeline
    assert timeline.events and timeline.events[0].seq == 1


def test_coordination_queue_and_approve_then_runs_paging(client) -> None:
    m = _models()
    fanout = next(d for d in example_documents() if d["workflowId"] == "fanout-approval")
    saved = _op("coordination_save_workflow").sync(
        client=client, body=m.WorkflowEnvelopeInput.from_dict({"workflow": fanout})
    )
    assert isinstance(saved, m.WorkflowEnvelope), saved
    assert saved.workflow.workflow_id == "fanout-approval"

    queued = _op("coordination_queue_run").sync(
        "fanout-approval",
        client=client,
        body=m.CoordinationQueueRunBody.from_dict(
            {"runId": "generated-client-run", "input": {"request": "laptop", "amount": 900}}
        ),
        idempotency_key=f"queue-{uuid.uuid4().hex}",
    )
    assert isinstance(queued, m.QueueRunResult), queued
    run_id = queued.run.run_id
    assert run_id == "generated-client-run" and queued.run.finished_at is None

    status = _op("coordination_get_run_status")
    waiting = _until(
        lambda: status.sync(run_id, client=client),
        lambda r: isinstance(r, m.RunEnvelope) and r.run.waiting_for is not None,
        "the run to wait at its approval desk",
    )
    assert waiting.run.waiting_for.desk_id == "approval"
    assert waiting.run.status == m.RunStatusV1Status.RUNNING

    not_waiting = _op("coordination_approve_desk").sync(
        run_id,
        "legal",
        client=client,
        body=m.CoordinationApproveDeskBody.from_dict({"decision": "approve"}),
    )
    assert isinstance(not_waiting, m.CoordinationApproveDeskResponse409), not_waiting
    assert not_waiting.code == m.CoordinationApproveDeskResponse409Code.DESK_NOT_WAITING

    approved = _op("coordination_approve_desk").sync(
        run_id,
        "approval",
        client=client,
        body=m.CoordinationApproveDeskBody.from_dict(
            {"decision": "approve", "payload": {"note": "fine"}}
        ),
    )
    assert isinstance(approved, m.ApproveDeskResult), approved
    done = _until(
        lambda: status.sync(run_id, client=client),
        lambda r: isinstance(r, m.RunEnvelope) and r.run.status.value in ("completed", "failed"),
        "the approved run to finish",
    )
    assert done.run.status == m.RunStatusV1Status.COMPLETED, done.run.error
    assert done.run.waiting_for is None and done.run.error is None
    timeline = _op("coordination_get_run_timeline").sync(run_id, client=client)
    assert isinstance(timeline, m.RunTimeline), timeline
    assert {event.desk_id for event in timeline.timeline if event.desk_id} >= {"approval"}

    # /api/runs, one run a page, following the documented `cursor` parameter.
    runs_list = _op("runs_list")
    seen: list[str] = []
    cursor: Any = None
    pages = 0
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        page = runs_list.sync(client=client, limit=1, **kwargs)
        assert isinstance(page, m.PaginatedRunResourceList), page
        pages += 1
        seen += [run.run_id for run in page.results]
        if not page.next_:
            break
        cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]
    assert sorted(seen) == sorted(Run.objects.values_list("id", flat=True))
    assert len(seen) == len(set(seen)) == pages
    run = _op("runs_retrieve").sync(run_id, client=client)
    assert isinstance(run, m.RunResource) and run.run_id == run_id
    gone = _op("runs_retrieve").sync("no-such-run", client=client)
    assert isinstance(gone, m.RunsRetrieveResponse404), gone
    assert gone.code == m.RunsRetrieveResponse404Code.RUN_NOT_FOUND and gone.defined is True
    bad_limit = runs_list.sync_detailed(client=client, limit=0)
    assert bad_limit.status_code == 400
