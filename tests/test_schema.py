"""The published OpenAPI document: valid, complete for /api, silent about /rpc and admin."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

from rawr_site.schema import SchemaClashError, merge_openapi

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_31(schema) -> None:
    assert schema["openapi"] == "3.1.0"
    validate(schema)


def test_schema_lists_published_routes_and_never_rpc_or_admin(schema) -> None:
    paths = set(schema["paths"])
    assert {
        "/api/orpc/search/documents",
        "/api/orpc/search/documents/{documentId}",
        "/api/orpc/search/query",
        "/api/auth/whoami",
    } <= paths
    assert not [p for p in paths if p.startswith("/rpc") or "admin" in p]
    assert "/api/orpc/search/stats" not in paths, "internal procedures are never published"


def test_operations_are_derived_from_the_contract(schema) -> None:
    get_doc = schema["paths"]["/api/orpc/search/documents/{documentId}"]["get"]
    assert get_doc["operationId"] == "search_getDocument"
    assert get_doc["summary"] == "Get a document"
    assert get_doc["parameters"][0]["name"] == "documentId"
    assert get_doc["parameters"][0]["schema"]["type"] == "integer"
    assert "`DOCUMENT_NOT_FOUND`" in get_doc["responses"]["404"]["description"]
    not_found = get_doc["responses"]["404"]["content"]["application/json"]["schema"]
    assert not_found["properties"]["code"]["enum"] == ["DOCUMENT_NOT_FOUND", "NOT_FOUND"]
    assert not_found["required"] == ["defined", "code", "status", "message"]

    query = schema["paths"]["/api/orpc/search/query"]["get"]
    params = {p["name"]: p for p in query["parameters"]}
    assert params["q"]["required"] is True
    assert params["tags"]["style"] == "form" and params["tags"]["explode"] is True
    assert params["limit"]["schema"]["maximum"] == 50

    index = schema["paths"]["/api/orpc/search/documents"]["post"]
    body_ref = index["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/DocumentInput"
    assert "title" in schema["components"]["schemas"]["DocumentInput"]["required"]


def test_a_declared_permission_is_published_and_in_the_manifest(schema) -> None:
    from rawr_site.manifest import load_manifest

    approve = schema["paths"]["/api/orpc/coordination/runs/{runId}/desks/{deskId}/approve"]
    operation = approve["post"]
    assert operation["x-rawr-permission"] == "workflows.decide_approval"
    assert "`workflows.decide_approval`" in operation["description"]
    assert "`workflows.decide_approval`" in operation["responses"]["403"]["description"]
    # Operations without a permission carry neither.
    get_doc = schema["paths"]["/api/orpc/search/documents/{documentId}"]["get"]
    assert "x-rawr-permission" not in get_doc
    assert "lacks" not in get_doc["responses"]["403"]["description"]

    rows = {
        (cap["id"], proc["name"]): proc
        for cap in load_manifest()["capabilities"]
        for proc in cap["procedures"]
    }
    assert rows[("coordination", "approveDesk")]["permission"] == "workflows.decide_approval"
    assert rows[("coordination", "getRunStatus")]["permission"] is None
    assert "documentId" in schema["components"]["schemas"]["Document"]["properties"]


def test_yaml_and_docs_are_served_offline() -> None:
    client = Client()
    yaml_response = client.get("/api/schema/?format=yaml")
    assert yaml_response.status_code == 200
    assert yaml.safe_load(yaml_response.content)["openapi"] == "3.1.0"
    for page, asset in (("/api/docs/", "swagger-ui"), ("/api/redoc/", "redoc")):
        html = client.get(page).content.decode()
        assert asset in html
        assert "cdn.jsdelivr" not in html and "unpkg.com" not in html, "docs must work offline"


def test_committed_schema_and_manifest_are_current() -> None:
    call_command("rawr", "schema", "--check")
    call_command("rawr", "manifest", "--check")


def test_merge_renames_a_clashing_component_instead_of_overwriting() -> None:
    drf = {"paths": {}, "components": {"schemas": {"Run": {"type": "object", "title": "drf"}}}}
    ninja = {
        "paths": {
            "/api/orpc/x": {
                "get": {
                    "responses": {
                        200: {
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Run"}}
                            }
                        }
                    }
                }
            }
        },
        "components": {"schemas": {"Run": {"type": "object", "title": "contract"}}},
    }
    merged = merge_openapi(drf, ninja)
    assert merged["components"]["schemas"]["Run"]["title"] == "drf"
    assert merged["components"]["schemas"]["RunContract"]["title"] == "contract"
    ref = merged["paths"]["/api/orpc/x"]["get"]["responses"]["200"]["content"]
    assert ref["application/json"]["schema"]["$ref"] == "#/components/schemas/RunContract"


def test_merge_refuses_to_publish_one_route_twice() -> None:
    one = {"paths": {"/api/x": {"get": {"responses": {}}}}, "components": {"schemas": {}}}
    with pytest.raises(SchemaClashError):
        merge_openapi(one, {"paths": {"/api/x": {"get": {"responses": {}}}}})


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_declares_its_security_and_every_answer(schema) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {**schemes["ApiKeyAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["cookieAuth"]["in"] == "cookie" and schemes["csrfToken"]["in"] == "header"
    for path, method, operation in _operations(schema):
        label = f"{method.upper()} {path}"
        if operation["operationId"] == "auth_csrf":
            assert operation["security"] == [{}], label
            continue
        session = {"cookieAuth": []} if method == "get" else {"cookieAuth": [], "csrfToken": []}
        assert operation["security"] == [{"ApiKeyAuth": []}, session], label
        statuses = set(operation["responses"])
        assert {"400", "401", "403", "413", "503"} <= statuses, label
        if method != "get":
            assert "415" in statuses, label
        if "{" in path:
            assert "404" in statuses, label
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                body = answer["content"]["application/json"]["schema"]
                assert body["properties"]["code"]["enum"], label


def test_declared_codes_are_enums_per_status_and_triggers_take_an_idempotency_key(schema) -> None:
    enrich = schema["paths"]["/api/workflows/search/enrich"]["post"]
    header = {p["name"]: p for p in enrich["parameters"]}["Idempotency-Key"]
    assert header["in"] == "header" and header["schema"]["maxLength"] == 255
    codes = enrich["responses"]["409"]["content"]["application/json"]["schema"]
    assert codes["properties"]["code"]["enum"] == ["CONFLICT", "RUN_ID_CONFLICT"]
    queue = schema["paths"]["/api/orpc/coordination/workflows/{workflowId}/run"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in queue["parameters"]}
    get_doc = schema["paths"]["/api/orpc/search/documents/{documentId}"]["get"]
    assert "Idempotency-Key" not in {p["name"] for p in get_doc["parameters"]}


def test_ids_limits_and_cursors_are_documented(schema) -> None:
    from workflows.ids import SAFE_ID_PATTERN

    run = {p["name"]: p for p in schema["paths"]["/api/runs/{id}/"]["get"]["parameters"]}
    assert run["id"]["schema"]["pattern"] == SAFE_ID_PATTERN
    status = schema["paths"]["/api/orpc/coordination/runs/{runId}"]["get"]["parameters"][0]
    assert status["schema"]["pattern"] == SAFE_ID_PATTERN
    listing = {p["name"]: p for p in schema["paths"]["/api/runs/"]["get"]["parameters"]}
    assert listing["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
        "default": 50,
    }
    assert "cursor" in listing and "next" in listing["cursor"]["description"]


def test_outputs_list_every_field_and_components_are_unique_and_used(schema) -> None:
    components = schema["components"]["schemas"]
    status = components["RunStatusV1"]
    assert {"finishedAt", "error", "waitingFor", "output"} <= set(status["required"])
    assert {"deskId", "detail"} <= set(components["DeskRunEventV1"]["required"])
    titles = [c["title"] for c in components.values() if "title" in c]
    assert len(titles) == len(set(titles)), "generators name models by title"
    text = json.dumps(schema)
    for name in components:
        assert f'"#/components/schemas/{name}"' in text, f"{name} is never referenced"
    envelope = components["WorkflowEnvelopeInput"]["properties"]["workflow"]
    assert envelope["$ref"] == "#/components/schemas/CoordinationWorkflowV1Input"
    workflow = components["CoordinationWorkflowV1Input"]
    assert {"workflowId", "desks", "handoffs"} <= set(workflow["required"])
    listed = components["WorkflowList"]["properties"]["workflows"]["items"]
    assert listed["$ref"] == "#/components/schemas/CoordinationWorkflowV1"
