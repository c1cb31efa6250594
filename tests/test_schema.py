"""The published OpenAPI document: valid, complete for /api, silent about /rpc and admin."""

from __future__ import annotations

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
    error_ref = get_doc["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref == "#/components/schemas/RawrErrorBody"

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
