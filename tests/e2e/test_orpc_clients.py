"""The REAL oRPC TypeScript clients against a real HTTP server running this project.

``tests/e2e/node/orpc_clients.mjs`` drives ``/rpc`` with ``RPCLink`` (``@orpc/client``) and
``/api/orpc`` with ``OpenAPILink`` (``@orpc/openapi-client``), both pinned to oRPC 1.16.1,
against pytest-django's ``live_server``. The OpenAPILink contract is derived from
``rawr_site/manifest.json`` by the script, so a route change in a contract is exercised
without touching this test. The script prints one JSON object: for every call, what the
client returned or threw (as a front end sees it) plus the captured HTTP exchange.

Each test below is about something a front-end developer would notice: values, revived
Dates, which error is thrown and whether ``isDefinedError`` holds, and what the network tab
shows. See ``shared/ORPC_WIRE.md`` for the protocol these expectations come from.

Needs Node >= 20 and ``npm ci`` in ``tests/e2e/node`` (``make test`` does it); skipped with
a message if either is missing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from rawr_site.manifest import MANIFEST_PATH
from tests.e2e.node_scripts import ScriptResult, node_or_skip, run_node_script
from tests.factories import issue_key

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "orpc_clients.mjs"
ORPC_VERSION = "1.16.1"
SCRIPT_TIMEOUT_SECONDS = 60

MISSING_ID = 987654321  # the id the script asks for to get DOCUMENT_NOT_FOUND


# -- running the script ---------------------------------------------------------------------
class Run(ScriptResult):
    """The parsed output of one script run (plus the ids of the documents it made)."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload)
        self.ids: dict[str, int] = payload["ids"]


def _run_script(node: str, base_url: str, scenario: str) -> Run:
    """Issue fresh keys (in the current test's database) and run one scenario."""
    service = issue_key(name="e2e first-party service", first_party=True)
    external = issue_key(name="e2e external integrator")
    env = {
        "RAWR_BASE_URL": base_url,
        "RAWR_SERVICE_TOKEN": service.secret,
        "RAWR_API_KEY": external.secret,
        "RAWR_MANIFEST": str(MANIFEST_PATH),
        "RAWR_SCENARIO": scenario,
        "RAWR_MAX_BODY_BYTES": str(settings.RAWR_MAX_BODY_BYTES),
    }
    payload = run_node_script(node, SCRIPT, env, SCRIPT_TIMEOUT_SECONDS)
    assert payload["scenario"] == scenario
    assert payload["versions"]["@orpc/client"] == ORPC_VERSION
    return Run(payload)


@pytest.fixture(scope="module")
def _recorded_runs() -> dict[str, Run]:
    """Scenario outputs already recorded in this module.

    A run is a read-only record of what the clients saw, so the tests below share the main
    scenario's record instead of re-running Node for each of them. The run itself happens
    inside the first test that needs it (keys and documents live in that test's database
    and are flushed with it); later tests only read the record.
    """
    return {}


@pytest.fixture
def run_clients(live_server, _recorded_runs):
    node = node_or_skip()

    def run(scenario: str = "main", *, fresh: bool = False) -> Run:
        if fresh or scenario not in _recorded_runs:
            _recorded_runs[scenario] = _run_script(node, live_server.url, scenario)
        return _recorded_runs[scenario]

    return run


@pytest.fixture
def run(run_clients) -> Run:
    return run_clients()


# -- helpers ---------------------------------------------------------------------------------
def _manifest() -> dict[str, Any]:
    return json.loads(MANIFEST_PATH.read_text())


def _search_procedures() -> dict[str, dict[str, Any]]:
    capability = next(c for c in _manifest()["capabilities"] if c["id"] == "search")
    return {proc["name"]: proc for proc in capability["procedures"]}


def _parse_iso(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no timezone"
    return parsed


def _revived_date(value: Any) -> dt.datetime:
    """A Date the RPC client revived (the script tags Dates as ``{"$date": iso}``)."""
    assert isinstance(value, dict) and set(value) == {"$date"}, f"not a Date: {value!r}"
    assert value["$date"].endswith("Z")
    return _parse_iso(value["$date"])


def _to_millis(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _as_plain_document(doc: dict[str, Any]) -> dict[str, Any]:
    """An RPC document with its Dates as instants, comparable with an OpenAPI one."""
    return {
        **doc,
        "createdAt": _revived_date(doc["createdAt"]),
        "updatedAt": _revived_date(doc["updatedAt"]),
    }


def _openapi_document(doc: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI document with its ISO strings cut to the milliseconds a JS Date keeps."""
    return {
        **doc,
        "createdAt": _to_millis(_parse_iso(doc["createdAt"])),
        "updatedAt": _to_millis(_parse_iso(doc["updatedAt"])),
    }


def _rpc_envelope(text: str) -> dict[str, Any]:
    body = json.loads(text)
    assert isinstance(body, dict) and set(body) <= {"json", "meta"}, body
    return body


def _assert_orpc_error(
    error: dict[str, Any],
    *,
    code: str,
    status: int,
    defined: bool,
    message: str | None = None,
) -> None:
    assert error["isORPCError"], f"client threw a plain {error['constructor']}: {error}"
    assert (error["code"], error["status"], error["defined"]) == (code, status, defined), error
    assert error["isDefinedError"] is defined
    if message is not None:
        assert error["message"] == message


# -- the derived contract ------------------------------------------------------------------------
def test_openapilink_contract_is_derived_from_the_manifest(run: Run) -> None:
    procedures = _search_procedures()
    published = {
        name: {
            "method": proc["method"],
            "path": proc["path"],
            "successStatus": proc["successStatus"],
        }
        for name, proc in procedures.items()
        if (proc["publishedPath"] or "").startswith("/api/orpc/")
    }
    assert run.payload["contract"]["published"]["search"] == published
    assert set(published) == {"indexDocument", "getDocument", "query"}
    # stats is internal: the script only knows it for the "not published" probe
    internal = {
        capability["id"]: [p["name"] for p in capability["procedures"] if not p["publishedPath"]]
        for capability in _manifest()["capabilities"]
    }
    assert run.payload["contract"]["internalProbe"] == {
        cap: names for cap, names in internal.items() if names
    }
    assert run.payload["contract"]["internalProbe"]["search"] == ["stats"]


# -- RPCLink (/rpc) ------------------------------------------------------------------------------
def test_rpclink_round_trip_revives_dates(run: Run) -> None:
    doc = run.value("rpc.indexDocument")
    assert doc["title"] == "Wire alpha"
    assert doc["body"] == "The zebra crossing alpha notes"
    assert doc["tags"] == ["a", "b", "wire"]
    assert isinstance(doc["documentId"], int) and doc["documentId"] >= 1
    # createdAt / updatedAt arrive as real Date objects, not strings
    assert run.calls["rpc.indexDocument"]["dateFields"] == {"createdAt": True, "updatedAt": True}
    created = _revived_date(doc["createdAt"])
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)

    # Wire: POST, JSON envelope in and out, Date fields announced in meta.
    exchange = run.wire("rpc.indexDocument")
    assert exchange["method"] == "POST"
    assert exchange["path"] == "/rpc/search/indexDocument"
    assert exchange["contentType"] == "application/json"
    assert json.loads(exchange["body"]) == {
        "json": {
            "title": "Wire alpha",
            "body": "The zebra crossing alpha notes",
            "tags": ["a", "b", "wire"],
        }
    }
    assert exchange["status"] == 200
    assert exchange["responseContentType"].startswith("application/json")
    envelope = _rpc_envelope(exchange["responseBody"])
    assert sorted(envelope["meta"]) == [[1, "createdAt"], [1, "updatedAt"]]

    # Reading it back gives the same document, Dates included.
    assert run.value("rpc.getDocument.A") == doc
    assert run.calls["rpc.getDocument.A"]["dateFields"] == {"createdAt": True, "updatedAt": True}
    assert json.loads(run.wire("rpc.getDocument.A")["body"]) == {
        "json": {"documentId": run.ids["A"]}
    }


def test_rpclink_query_with_tags_and_limit(run: Run) -> None:
    result = run.value("rpc.query")
    assert json.loads(run.wire("rpc.query")["body"]) == {
        "json": {"q": "zebra", "tags": ["a", "b"], "limit": 5}
    }
    # "Wire gamma" matches "zebra" but lacks tag "b": only A and B carry both tags.
    assert result["total"] == 2
    assert {hit["documentId"] for hit in result["results"]} == {run.ids["A"], run.ids["B"]}
    for hit in result["results"]:
        assert set(hit) == {"documentId", "title", "snippet", "tags", "score"}
        assert {"a", "b"} <= set(hit["tags"])
        assert "zebra" in hit["snippet"].lower()
        assert isinstance(hit["score"], int | float)
    scores = [hit["score"] for hit in result["results"]]
    assert scores == sorted(scores, reverse=True)

    # limit caps the page, total still counts every match
    limited = run.value("rpc.query.limit1")
    assert len(limited["results"]) == 1
    assert limited["total"] == 3


def test_rpclink_internal_procedure_and_void_input(run: Run) -> None:
    # stats takes no input: the client sends the empty envelope {}.
    exchange = run.wire("rpc.stats")
    assert (exchange["method"], exchange["body"]) == ("POST", "{}")
    expected = {
        "documents": 4,
        "tags": {"a": 3, "b": 2, "wire": 1, "p+q": 1, "x y": 1, "ü&=": 1},
    }
    assert run.value("rpc.stats") == expected
    # After all the failing calls of the scenario nothing else was stored.
    assert run.value("rpc.stats.final") == expected


def test_rpclink_get_method_sends_data_query_param(run: Run) -> None:
    # method: 'GET' -> GET /rpc/<path>?data=<envelope>, no body, same results as POST.
    for label, envelope in [
        ("rpcGet.getDocument.A", {"json": {"documentId": run.ids["A"]}}),
        ("rpcGet.query", {"json": {"q": "zebra", "tags": ["a", "b"], "limit": 5}}),
    ]:
        exchange = run.wire(label)
        assert exchange["method"] == "GET", label
        assert exchange["body"] is None and exchange["contentType"] is None, label
        assert [key for key, _ in exchange["query"]] == ["data"], label
        assert json.loads(exchange["query"][0][1]) == envelope, label
        assert exchange["status"] == 200, label

    assert run.value("rpcGet.getDocument.A") == run.value("rpc.getDocument.A")
    assert run.calls["rpcGet.getDocument.A"]["dateFields"] == {
        "createdAt": True,
        "updatedAt": True,
    }
    assert run.value("rpcGet.query") == run.value("rpc.query")

    # A GET link used for a write is refused like oRPC's RPCHandler does (and stores nothing).
    _assert_orpc_error(
        run.error("rpcGet.indexDocument"), code="METHOD_NOT_SUPPORTED", status=405, defined=False
    )
    assert run.wire("rpcGet.indexDocument")["method"] == "GET"


def test_rpclink_with_method_inferred_from_the_contract(run: Run) -> None:
    # inferRPCMethodFromContractRouter(contract derived from the manifest): GET for reads.
    assert run.wire("rpcInferred.indexDocument")["method"] == "POST"
    assert run.value("rpcInferred.indexDocument")["tags"] == ["a"]
    query = run.wire("rpcInferred.query")
    assert query["method"] == "GET" and query["query"][0][0] == "data"
    assert run.value("rpcInferred.query") == run.value("rpc.query")
    stats = run.wire("rpcInferred.stats")
    assert stats["method"] == "GET"
    assert stats["query"] == [["data", "{}"]]
    assert run.value("rpcInferred.stats") == run.value("rpc.stats")


# -- OpenAPILink (/api/orpc) ---------------------------------------------------------------------
def test_openapilink_index_and_get_plain_json(run: Run) -> None:
    doc = run.value("openapi.indexDocument")
    assert (doc["title"], doc["body"], doc["tags"]) == (
        "Wire beta",
        "The zebra crossing beta notes",
        ["a", "b"],
    )
    # Plain JSON: timestamps are ISO strings (OpenAPILink does not revive Dates).
    assert run.calls["openapi.indexDocument"]["dateFields"] == {
        "createdAt": False,
        "updatedAt": False,
    }
    _parse_iso(doc["createdAt"])
    _parse_iso(doc["updatedAt"])

    exchange = run.wire("openapi.indexDocument")
    assert (exchange["method"], exchange["path"]) == ("POST", "/api/orpc/search/documents")
    assert exchange["contentType"] == "application/json"
    assert json.loads(exchange["body"]) == {
        "title": "Wire beta",
        "body": "The zebra crossing beta notes",
        "tags": ["a", "b"],
    }
    assert exchange["status"] == 200
    assert json.loads(exchange["responseBody"]) == doc  # no {"json": ...} wrapper

    # getDocument: the id goes into the path, nothing else on the URL.
    get = run.wire("openapi.getDocument.B")
    assert get["method"] == "GET"
    assert get["path"] == f"/api/orpc/search/documents/{run.ids['B']}"
    assert get["search"] == ""
    assert get["body"] is None
    assert run.value("openapi.getDocument.B") == doc


def test_same_documents_through_both_links(run: Run) -> None:
    for which in ("A", "B"):
        rpc_doc = run.value(f"rpc.getDocument.{which}")
        api_doc = run.value(f"openapi.getDocument.{which}")
        assert rpc_doc["documentId"] == api_doc["documentId"] == run.ids[which]
        assert _as_plain_document(rpc_doc) == _openapi_document(api_doc)
    # Written through one link, read through the other: still the same document.
    assert _as_plain_document(run.value("rpc.getDocument.B")) == _openapi_document(
        run.value("openapi.indexDocument")
    )
    assert _openapi_document(run.value("openapi.getDocument.A")) == _as_plain_document(
        run.value("rpc.indexDocument")
    )
    # In JS, new Date(openapiString).getTime() equals the revived Date's getTime().
    stamps = run.value("timestamps.A")
    assert stamps["rpc"] == stamps["openapi"]


def test_openapilink_query_uses_bracket_notation(run: Run) -> None:
    exchange = run.wire("openapi.query")
    assert (exchange["method"], exchange["path"]) == ("GET", "/api/orpc/search/query")
    assert exchange["body"] is None and exchange["contentType"] is None
    assert exchange["query"] == [
        ["q", "zebra"],
        ["tags[0]", "a"],
        ["tags[1]", "b"],
        ["limit", "5"],
    ]
    assert "tags%5B0%5D=a&tags%5B1%5D=b" in exchange["search"]

    # Identical to what RPCLink got (POST and GET variants) for the same input.
    assert run.value("openapi.query") == run.value("rpc.query") == run.value("rpcGet.query")
    assert run.value("openapi.query.limit1") == run.value("rpc.query.limit1")
    assert run.wire("openapi.query.limit1")["query"] == [["q", "zebra"], ["limit", "1"]]


def test_special_characters_survive_both_encodings(run: Run) -> None:
    doc = run.value("rpc.indexDocument.special")
    assert doc["title"] == "Wire delta ünïcode"
    assert doc["body"] == "quux: a+b & c=d, 50% ünïcode"
    assert sorted(doc["tags"]) == sorted(["x y", "p+q", "ü&="])
    # Bracket keys and values are percent-encoded by OpenAPILink and decoded intact.
    assert run.wire("openapi.query.special")["query"] == [
        ["q", "ünïcode"],
        ["tags[0]", "p+q"],
        ["tags[1]", "x y"],
        ["tags[2]", "ü&="],
    ]
    result = run.value("openapi.query.special")
    assert result["total"] == 1
    assert [hit["documentId"] for hit in result["results"]] == [doc["documentId"]]
    assert result == run.value("rpc.query.special") == run.value("rpcGet.query.special")


def test_internal_procedure_is_not_published(run: Run) -> None:
    # An OpenAPILink pointed at the REST path stats WOULD have gets the JSON 404, not HTML.
    error = run.error("openapi.internalProbe.stats")
    _assert_orpc_error(error, code="NOT_FOUND", status=404, defined=False)
    exchange = run.wire("openapi.internalProbe.stats")
    assert exchange["path"] == "/api/orpc" + _search_procedures()["stats"]["path"]
    assert exchange["responseContentType"].startswith("application/json")


# -- errors as the clients throw them ------------------------------------------------------------
def test_declared_error_is_defined_on_every_link(run: Run) -> None:
    for label in (
        "rpc.getDocument.missing",
        "rpcGet.getDocument.missing",
        "openapi.getDocument.missing",
    ):
        error = run.error(label)
        _assert_orpc_error(
            error,
            code="DOCUMENT_NOT_FOUND",
            status=404,
            defined=True,
            message=f"Document {MISSING_ID} not found",
        )
        assert error["data"] == {"documentId": MISSING_ID}, label
        assert run.wire(label)["status"] == 404

    # The RPC error is wrapped in {"json": ...}; the OpenAPI one is the bare error object.
    rpc_body = _rpc_envelope(run.wire("rpc.getDocument.missing")["responseBody"])
    api_body = json.loads(run.wire("openapi.getDocument.missing")["responseBody"])
    assert rpc_body == {"json": api_body}
    assert set(api_body) == {"defined", "code", "status", "message", "data"}

    # safe(): [error, data, isDefined, isSuccess]
    safe = run.value("rpc.getDocument.missing.safe")
    assert (safe["isDefined"], safe["isSuccess"]) == (True, False)
    assert safe["error"]["code"] == "DOCUMENT_NOT_FOUND"


def test_input_validation_is_bad_request_with_issues(run: Run) -> None:
    for label in ("rpc.indexDocument.invalid", "openapi.indexDocument.invalid"):
        error = run.error(label)
        _assert_orpc_error(
            error, code="BAD_REQUEST", status=400, defined=False, message="Input validation failed"
        )
        issues = error["data"]["issues"]
        assert [issue["path"] for issue in issues] == [["title"]], label
        assert all(isinstance(issue["message"], str) and issue["message"] for issue in issues)

    # A limit out of range, sent as a query-string "500" or as the number 500 in ?data=.
    for label in ("openapi.query.invalidLimit", "rpcGet.query.invalidLimit"):
        error = run.error(label)
        _assert_orpc_error(error, code="BAD_REQUEST", status=400, defined=False)
        assert [issue["path"] for issue in error["data"]["issues"]] == [["limit"]], label


def test_unknown_procedure_is_a_not_found_orpc_error(run: Run) -> None:
    for label, path in [
        ("rpc.unknownProcedure", "/rpc/search/noSuchProcedure"),
        ("rpc.unknownCapability", "/rpc/noSuchCapability/anything"),
    ]:
        error = run.error(label)
        _assert_orpc_error(error, code="NOT_FOUND", status=404, defined=False)
        exchange = run.wire(label)
        assert exchange["path"] == path
        assert exchange["responseContentType"].startswith("application/json")
        assert "data" not in _rpc_envelope(exchange["responseBody"])["json"]


def test_auth_errors_are_orpc_errors(run: Run) -> None:
    # The external API key works on /api/orpc but is refused on /rpc with 403.
    for label in ("rpc.externalKey.stats", "rpc.externalKey.getDocument"):
        _assert_orpc_error(
            run.error(label),
            code="FORBIDDEN",
            status=403,
            defined=False,
            message="External API keys cannot call /rpc",
        )
    _assert_orpc_error(
        run.error("rpc.anonymous.stats"), code="UNAUTHORIZED", status=401, defined=False
    )
    _assert_orpc_error(
        run.error("openapi.anonymous.query"), code="UNAUTHORIZED", status=401, defined=False
    )
    _assert_orpc_error(
        run.error("openapi.badKey.query"), code="UNAUTHORIZED", status=401, defined=False
    )
    # A first-party service token may also use the published routes.
    assert _openapi_document(run.value("openapi.serviceToken.getDocument.A")) == (
        _as_plain_document(run.value("rpc.getDocument.A"))
    )


def test_every_response_is_json(run: Run) -> None:
    for label, record in run.calls.items():
        for exchange in record["wire"]:
            assert exchange["responseContentType"].startswith("application/json"), (
                label,
                exchange,
            )


# -- oversized bodies ------------------------------------------------------------------------
def test_payload_too_large_is_a_413_orpc_error_on_both_links(run_clients) -> None:
    run = run_clients("payload-too-large", fresh=True)
    limit = settings.RAWR_MAX_BODY_BYTES
    for label in ("rpc.indexDocument.tooLarge", "openapi.indexDocument.tooLarge"):
        error = run.error(label)
        _assert_orpc_error(error, code="PAYLOAD_TOO_LARGE", status=413, defined=False)
        assert error["data"] == {"limit": limit}
        assert run.wire(label)["bodyLength"] > limit
    # The connection is still usable and nothing was stored.
    assert run.value("rpc.stats.afterTooLarge") == {"documents": 0, "tags": {}}
