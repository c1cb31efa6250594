"""Bad input gets a clear 4xx JSON error and changes nothing; never a 500, never HTML."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from capabilities.search.models import Document
from rawr_site.host.models import ApiKey
from tests.factories import issue_key

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"defined", "code", "status", "message", "data"}


@pytest.fixture
def auth() -> dict[str, dict[str, str]]:
    return {
        "rpc": {"HTTP_AUTHORIZATION": f"Bearer {issue_key(name='s', first_party=True).secret}"},
        "api": {"HTTP_AUTHORIZATION": f"Bearer {issue_key(name='e').secret}"},
    }


def _error(response, *, rpc: bool) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    if rpc:
        assert set(body) == {"json"}
        body = body["json"]
    assert set(body) <= ERROR_KEYS and {"defined", "code", "status", "message"} <= set(body)
    assert body["status"] == response.status_code
    return body


CASES = [
    # (id, surface, method, path, raw body, content type, status, code, issue paths)
    (
        "rpc-malformed-json",
        "rpc",
        "post",
        "/rpc/search/indexDocument",
        "{nope",
        "application/json",
        400,
        "BAD_REQUEST",
        None,
    ),
    (
        "rpc-not-an-envelope",
        "rpc",
        "post",
        "/rpc/search/indexDocument",
        "[1,2]",
        "application/json",
        400,
        "BAD_REQUEST",
        None,
    ),
    (
        "rpc-missing-field",
        "rpc",
        "post",
        "/rpc/search/indexDocument",
        '{"json":{"body":"x"}}',
        "application/json",
        400,
        "BAD_REQUEST",
        [["title"]],
    ),
    (
        "rpc-wrong-types",
        "rpc",
        "post",
        "/rpc/search/indexDocument",
        '{"json":{"title":5,"tags":"x"}}',
        "application/json",
        400,
        "BAD_REQUEST",
        [["tags"], ["title"]],
    ),
    (
        "rpc-no-input",
        "rpc",
        "post",
        "/rpc/search/indexDocument",
        "{}",
        "application/json",
        400,
        "BAD_REQUEST",
        [["title"]],
    ),
    (
        "rpc-unknown-procedure",
        "rpc",
        "post",
        "/rpc/search/nope",
        "{}",
        "application/json",
        404,
        "NOT_FOUND",
        None,
    ),
    (
        "rpc-unknown-capability",
        "rpc",
        "post",
        "/rpc/billing/charge",
        "{}",
        "application/json",
        404,
        "NOT_FOUND",
        None,
    ),
    (
        "rpc-get-on-a-write",
        "rpc",
        "get",
        "/rpc/search/indexDocument",
        None,
        None,
        405,
        "METHOD_NOT_SUPPORTED",
        None,
    ),
    (
        "rpc-bad-data-param",
        "rpc",
        "get",
        "/rpc/search/query?data=%7Bbroken",
        None,
        None,
        400,
        "BAD_REQUEST",
        None,
    ),
    (
        "rpc-form-encoded",
        "rpc",
        "post",
        "/rpc/search/indexDocument",
        "title=x",
        "application/x-www-form-urlencoded",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        None,
    ),
    (
        "api-malformed-json",
        "api",
        "post",
        "/api/orpc/search/documents",
        "{nope",
        "application/json",
        400,
        "BAD_REQUEST",
        None,
    ),
    (
        "api-missing-field",
        "api",
        "post",
        "/api/orpc/search/documents",
        '{"body":"x"}',
        "application/json",
        400,
        "BAD_REQUEST",
        [["title"]],
    ),
    (
        "api-wrong-types",
        "api",
        "post",
        "/api/orpc/search/documents",
        '{"title":["x"],"tags":[1]}',
        "application/json",
        400,
        "BAD_REQUEST",
        [["tags", 0], ["title"]],
    ),
    (
        "api-empty-body",
        "api",
        "post",
        "/api/orpc/search/documents",
        "",
        "application/json",
        400,
        "BAD_REQUEST",
        [["title"]],
    ),
    (
        "api-too-many-tags",
        "api",
        "post",
        "/api/orpc/search/documents",
        json.dumps({"title": "t", "tags": [f"t{i}" for i in range(21)]}),
        "application/json",
        400,
        "BAD_REQUEST",
        [["tags"]],
    ),
    (
        "api-bad-path-param",
        "api",
        "get",
        "/api/orpc/search/documents/abc",
        None,
        None,
        400,
        "BAD_REQUEST",
        [["documentId"]],
    ),
    (
        "api-bad-query-type",
        "api",
        "get",
        "/api/orpc/search/query?q=x&limit=lots",
        None,
        None,
        400,
        "BAD_REQUEST",
        [["limit"]],
    ),
    (
        "api-query-out-of-range",
        "api",
        "get",
        "/api/orpc/search/query?q=x&limit=0",
        None,
        None,
        400,
        "BAD_REQUEST",
        [["limit"]],
    ),
    (
        "api-missing-query",
        "api",
        "get",
        "/api/orpc/search/query",
        None,
        None,
        400,
        "BAD_REQUEST",
        [["q"]],
    ),
    (
        "api-unknown-route",
        "api",
        "get",
        "/api/orpc/search/nothing-here",
        None,
        None,
        404,
        "NOT_FOUND",
        None,
    ),
    ("api-unknown-prefix", "api", "get", "/api/unknown", None, None, 404, "NOT_FOUND", None),
    (
        "api-wrong-method",
        "api",
        "delete",
        "/api/orpc/search/documents",
        None,
        None,
        405,
        "METHOD_NOT_SUPPORTED",
        None,
    ),
    (
        "api-internal-procedure",
        "api",
        "get",
        "/api/orpc/search/stats",
        None,
        None,
        404,
        "NOT_FOUND",
        None,
    ),
]


@pytest.mark.parametrize(
    ("surface", "method", "path", "body", "ctype", "status", "code", "issue_paths"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    auth, surface, method, path, body, ctype, status, code, issue_paths
) -> None:
    before = Document.objects.count()
    kwargs = {"data": body, "content_type": ctype} if body is not None else {}
    response = getattr(Client(), method)(path, **kwargs, **auth[surface])
    assert response.status_code == status, response.content
    error = _error(response, rpc=surface == "rpc")
    assert error["code"] == code
    assert error["defined"] is False
    if issue_paths is not None:
        assert error["message"] == "Input validation failed"
        issues = error["data"]["issues"]
        assert all(set(issue) >= {"message", "path"} for issue in issues)
        assert sorted(issue["path"] for issue in issues) == issue_paths
    assert Document.objects.count() == before


@override_settings(RAWR_MAX_BODY_BYTES=1024, DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize("path", ["/rpc/search/indexDocument", "/api/orpc/search/documents"])
def test_oversize_body_is_413_and_writes_nothing(auth, path) -> None:
    rpc = path.startswith("/rpc")
    doc = {"title": "big", "body": "x" * 5000}
    before = Document.objects.count()
    response = Client().post(
        path,
        data=json.dumps({"json": doc} if rpc else doc),
        content_type="application/json",
        **auth["rpc" if rpc else "api"],
    )
    assert response.status_code == 413
    error = _error(response, rpc=rpc)
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert error["data"] == {"limit": 1024}
    assert Document.objects.count() == before


def test_oversize_body_is_refused_before_authentication() -> None:
    """413 does not depend on who calls: nothing of the body is read, no key is touched."""
    with override_settings(RAWR_MAX_BODY_BYTES=10):
        response = Client().post(
            "/api/orpc/search/documents",
            data='{"title": "long enough"}',
            content_type="application/json",
        )
    assert response.status_code == 413
    assert ApiKey.objects.count() == 0


def test_unhandled_handler_error_is_a_json_500_without_details(auth, monkeypatch) -> None:
    from capabilities.search import selectors

    def explode(**_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "document_search", explode)
    response = Client().get("/api/orpc/search/query?q=x", **auth["api"])
    assert response.status_code == 500
    assert response.json() == {
        "defined": False,
        "code": "INTERNAL_SERVER_ERROR",
        "status": 500,
        "message": "Internal server error",
    }


# -- JSON that Python's json accepts but JSON does not ---------------------------------------
#: (id, token put where a value goes, the error message)
NON_JSON = [
    ("nan", "NaN", "NaN is not JSON (use a number or null)"),
    ("infinity", "Infinity", "Infinity is not JSON (use a number or null)"),
    ("minus-infinity", "-Infinity", "-Infinity is not JSON (use a number or null)"),
    ("overflow", "1e309", "The number 1e309 is out of range (not a finite number)"),
    ("negative-overflow", "-1e309", "The number -1e309 is out of range (not a finite number)"),
    # deeper than Python's recursion limit (the parser raised RecursionError: a 500)
    ("too-deep", "[" * 100_000 + "]" * 100_000, "JSON is nested too deeply"),
]
LINEAR = "linear-review"
#: (id, surface, path, body around the token); ``queueRun`` stored NaN as ``null``.
JSON_SURFACES = [
    ("rpc-index", "rpc", "/rpc/search/indexDocument", '{"json":{"title":"t","body":"b","x":%s}}'),
    (
        "rpc-queue-run",
        "rpc",
        "/rpc/coordination/queueRun",
        '{"json":{"workflowId":"linear-review","input":{"score":%s}}}',
    ),
    ("orpc-index", "api", "/api/orpc/search/documents", '{"title":"t","body":"b","x":%s}'),
    (
        "orpc-queue-run",
        "api",
        f"/api/orpc/coordination/workflows/{LINEAR}/run",
        '{"input":{"score":%s}}',
    ),
    ("workflows-enrich", "api", "/api/workflows/search/enrich", '{"documentId":1,"x":[%s]}'),
]


def _rows() -> tuple[int, ...]:
    from coordination.models import WorkflowVersion
    from workflows.models import Approval, Run, TimelineEvent

    return (
        Document.objects.count(),
        Run.objects.count(),
        TimelineEvent.objects.count(),
        Approval.objects.filter(status="pending").count(),
        WorkflowVersion.objects.count(),
    )


@pytest.fixture
def linear_workflow() -> None:
    from coordination.client import coordination
    from coordination.examples import example_documents

    document = next(d for d in example_documents() if d["workflowId"] == LINEAR)
    coordination.saveWorkflow({"workflow": document})


@pytest.mark.usefixtures("linear_workflow")
@pytest.mark.parametrize(
    ("surface", "path", "template"),
    [s[1:] for s in JSON_SURFACES],
    ids=[s[0] for s in JSON_SURFACES],
)
@pytest.mark.parametrize(
    ("token", "message"), [n[1:] for n in NON_JSON], ids=[n[0] for n in NON_JSON]
)
def test_non_finite_numbers_and_over_deep_json_are_400_on_every_contract_surface(
    auth, surface, path, template, token, message
) -> None:
    before = _rows()
    response = Client().post(
        path, data=template % token, content_type="application/json", **auth[surface]
    )
    assert response.status_code == 400, response.content
    expected = {"defined": False, "code": "BAD_REQUEST", "status": 400, "message": message}
    assert _error(response, rpc=surface == "rpc") == expected
    assert _rows() == before


def test_rpc_get_data_parameter_is_parsed_strictly(auth) -> None:
    response = Client().get('/rpc/search/query?data={"json":{"q":"x","limit":NaN}}', **auth["rpc"])
    assert response.status_code == 400
    assert _error(response, rpc=True)["message"] == "NaN is not JSON (use a number or null)"


@pytest.fixture
def parked() -> tuple[str, str]:
    """A failed run (replayable) and a pending approval, as rows: the body is refused first."""
    from workflows.models import Approval, Run

    run = Run.objects.create(id="run-bad-input", function_id="t.x", capability="x", status="failed")
    Approval.objects.create(id="apr-bad-input", run=run, step_id="ok", title="Ok?")
    return run.pk, "apr-bad-input"


@pytest.mark.parametrize("what", ["replay", "decide"])
@pytest.mark.parametrize(
    ("token", "message"), [n[1:] for n in NON_JSON], ids=[n[0] for n in NON_JSON]
)
def test_non_finite_numbers_and_over_deep_json_are_400_on_the_drf_apis(
    auth, parked, what, token, message
) -> None:
    from workflows.models import Approval

    run_id, approval_id = parked
    path, body = {
        "replay": (f"/api/runs/{run_id}/replay/", '{"input":{"score":%s}}'),
        "decide": (f"/api/approvals/{approval_id}/decide", '{"decision":"approve","payload":%s}'),
    }[what]
    before = _rows()
    response = Client().post(
        path, data=body % token, content_type="application/json", **auth["api"]
    )
    assert response.status_code == 400, response.content
    assert _error(response, rpc=False) == {
        "defined": False,
        "code": "BAD_REQUEST",
        "status": 400,
        "message": message,
    }
    assert _rows() == before
    assert Approval.objects.get(pk=approval_id).payload is None


# -- more parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS ----------------------------------------
MANY = "&".join(f"p{i}=1" for i in range(1001))


@pytest.mark.parametrize(
    ("surface", "method", "path"),
    [
        ("api", "get", "/api/runs/"),
        ("api", "get", "/api/approvals/"),
        ("api", "get", "/api/orpc/search/query"),
        ("api", "get", "/api/workflows/search/runs/run-x"),
        ("rpc", "get", "/rpc/search/query"),
        ("api", "post", "/api/orpc/search/documents"),
        ("rpc", "post", "/rpc/search/indexDocument"),
    ],
)
def test_too_many_query_parameters_are_a_coded_400(auth, surface, method, path) -> None:
    rpc = surface == "rpc"
    doc = {"title": "t", "body": "b"}
    kwargs = {"data": json.dumps({"json": doc} if rpc else doc), "content_type": "application/json"}
    before = _rows()
    response = getattr(Client(), method)(
        f"{path}?{MANY}", **(kwargs if method == "post" else {}), **auth[surface]
    )
    assert response.status_code == 400, response.content
    assert _error(response, rpc=rpc) == {
        "defined": False,
        "code": "BAD_REQUEST",
        "status": 400,
        "message": "Too many parameters (at most 1000)",
        "data": {"limit": 1000},
    }
    assert _rows() == before
