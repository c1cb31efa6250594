"""The ONE published OpenAPI document: DRF views + the contract-derived Ninja routes.

drf-spectacular generates the DRF part; ``merge_contract_routes`` (a postprocessing hook)
adds the ``/api/orpc`` and ``/api/workflows`` operations that the Ninja APIs derive from
the contracts. ``/rpc`` and the admin are never published.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework.permissions import AllowAny, BasePermission, IsAdminUser

from rawr_site.transports.openapi import rewrite_component_refs

PUBLISHED_PREFIXES = ("/api/orpc/", "/api/workflows/")
_UNPUBLISHED = ("/api/schema", "/api/docs", "/api/redoc")


class SchemaClashError(RuntimeError):
    """Two different component schemas want the same name and cannot be renamed."""


class WritableJSONFieldExtension(OpenApiSerializerFieldExtension):
    """A writable ``JSONField`` that refuses null (``allow_null=False``) says so.

    drf-spectacular publishes every JSONField as ``{}`` (any JSON, null included), so a
    client following the schema could send the null the server answers 400 to.
    """

    target_class = "rest_framework.fields.JSONField"

    def map_serializer_field(self, auto_schema, direction):
        if self.target.read_only or self.target.allow_null:
            return {}
        return {"not": {"type": "null"}}


def schema_permission_classes() -> list[type[BasePermission]]:
    return [AllowAny] if settings.RAWR_SCHEMA_ACCESS == "public" else [IsAdminUser]


def preprocess_published_only(endpoints: list[tuple]) -> list[tuple]:
    """Keep DRF endpoints under ``/api/`` only (never /rpc, admin, or the schema itself)."""
    return [
        endpoint
        for endpoint in endpoints
        if endpoint[0].startswith("/api/") and not endpoint[0].startswith(_UNPUBLISHED)
    ]


def merge_contract_routes(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    from rawr_site import surfaces

    for api, prefix in (
        (surfaces.orpc_api(), "/api/orpc/"),
        (surfaces.workflows_api(), "/api/workflows/"),
    ):
        ninja_schema = json.loads(json.dumps(api.get_openapi_schema(path_prefix=prefix)))
        merge_openapi(result, ninja_schema)
    harden(result)
    result["paths"] = dict(sorted(result.get("paths", {}).items()))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


# -- what generated clients and fuzzers rely on -------------------------------------------
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_SAFE = frozenset({"get", "head", "options"})
_CODE_RE = re.compile(r"`([A-Z][A-Z0-9_]*)`")
#: Operations anyone may call (the CSRF cookie bootstrap).
_ANONYMOUS = frozenset({"auth_csrf"})
SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKeyAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`Authorization: Bearer rawr_...`), within its scopes.",
    },
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": "A signed-in Django session (the console, micro-frontends).",
    },
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": (
            "With a session, unsafe methods also need the CSRF token (`GET /api/auth/csrf` "
            "sets the `csrftoken` cookie and returns it)."
        ),
    },
}


def harden(document: dict[str, Any]) -> dict[str, Any]:
    """Make the merged document say exactly what the server does.

    Every operation gets its security requirement (an API key, or a session plus the
    CSRF header for unsafe methods), every error answer it can give (each with the enum
    of its codes), component titles equal to their names (generators name models by
    title: two ``RunRef`` titles made one model vanish) and no unreferenced component.
    """
    components = document.setdefault("components", {})
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    for _path, method, operation in _operations(document):
        _secure(method, operation)
        _declare_errors(method, operation)
    for name, schema in components.get("schemas", {}).items():
        if isinstance(schema, dict) and "title" in schema:
            schema["title"] = name
    _drop_impossible_defaults(document)
    _any_json_is_any_json(document)
    _request_defaults_as_text(document)
    _prune_components(document)
    return document


def _operations(document: dict[str, Any]):
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def _secure(method: str, operation: dict[str, Any]) -> None:
    if operation.get("operationId") in _ANONYMOUS:
        operation["security"] = [{}]
        return
    session: dict[str, list[str]] = {"cookieAuth": []}
    if method not in _SAFE:
        session["csrfToken"] = []
    operation["security"] = [{"ApiKeyAuth": []}, session]


def _declare_errors(method: str, operation: dict[str, Any]) -> None:
    from rawr_site.transports.openapi import error_response

    responses = {str(code): body for code, body in operation.get("responses", {}).items()}
    wanted = {"400", "413", "503"}
    if operation.get("operationId") not in _ANONYMOUS:
        wanted |= {"401", "403"}
    if method not in _SAFE:
        wanted.add("415")
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        wanted.add("404")
    for status in wanted:
        responses.setdefault(status, {"description": ""})
    for status, body in list(responses.items()):
        if not status.isdigit() or int(status) < 400:
            continue
        description = body.get("description", "")
        codes = _CODE_RE.findall(description)
        answer = error_response(int(status), codes)
        if description and codes:
            answer["description"] = description
        responses[status] = answer
    operation["responses"] = dict(sorted(responses.items()))


def _drop_impossible_defaults(node: Any) -> None:
    """``default: null`` on a schema that does not admit null (a field that is simply
    optional) is invalid JSON Schema and makes generators type the field ``T | null``."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not _admits_null(node):
            del node["default"]
        for value in node.values():
            _drop_impossible_defaults(value)
    elif isinstance(node, list):
        for item in node:
            _drop_impossible_defaults(item)


def _any_json_is_any_json(node: Any) -> None:
    """drf-spectacular writes a nullable ``JSONField`` as ``oneOf: [{}, {type: null}]``,
    which *excludes* null (it matches both branches); any JSON value is ``{}``."""
    if isinstance(node, dict):
        options = node.get("oneOf")
        if isinstance(options, list) and any(
            isinstance(o, dict) and not (set(o) - {"description", "title"}) for o in options
        ):
            del node["oneOf"]
        for value in node.values():
            _any_json_is_any_json(value)
    elif isinstance(node, list):
        for item in node:
            _any_json_is_any_json(item)


def _admits_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind is None and not any(k in schema for k in ("anyOf", "oneOf", "$ref", "enum")):
        return True  # no type at all: any JSON value, null included
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if None in schema.get("enum", ()):
        return True
    return any(
        isinstance(option, dict) and _admits_null(option)
        for option in [*schema.get("anyOf", []), *schema.get("oneOf", [])]
    )


def _request_defaults_as_text(document: dict[str, Any]) -> None:
    """In request bodies a property's ``default`` (what the server assumes when it is left
    out) goes into its description: generators such as openapi-typescript type a property
    with a default as always present, so callers were made to send optional fields."""
    schemas = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rpartition("/")[2]
            if name not in seen and name in schemas:
                seen.add(name)
                visit(schemas[name])
        for prop in (node.get("properties") or {}).values():
            if isinstance(prop, dict) and "default" in prop:
                default = json.dumps(prop.pop("default"))
                text = prop.get("description", "").rstrip()
                if text and not text.endswith("."):
                    text += "."
                prop["description"] = f"{text} Default: `{default}`.".strip()
        for key, value in node.items():
            if key != "$ref":
                visit(value)

    for _path, _method, operation in _operations(document):
        visit(operation.get("requestBody", {}))


def _prune_components(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    reachable: set[str] = set()
    pending = _refs(document.get("paths", {}))
    while pending:
        name = pending.pop()
        if name in reachable or name not in schemas:
            continue
        reachable.add(name)
        pending |= _refs(schemas[name])
    for name in list(schemas):
        if name not in reachable:
            del schemas[name]


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rpartition("/")[2])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def merge_openapi(target: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Merge ``incoming`` paths and component schemas into ``target``.

    A component name already used by a *different* schema (DRF's ``Run`` vs a contract's
    ``Run``) is never overwritten: the incoming one is renamed ``<Name>Contract`` and every
    reference to it in ``incoming`` is rewritten first.
    """
    incoming = copy.deepcopy(incoming)
    target_schemas = target.setdefault("components", {}).setdefault("schemas", {})
    incoming_schemas = incoming.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    for name, schema in incoming_schemas.items():
        existing = target_schemas.get(name)
        if existing is not None and existing != schema:
            new_name = f"{name}Contract"
            if new_name in target_schemas or new_name in incoming_schemas:
                raise SchemaClashError(f"component {name!r} clashes and {new_name!r} is taken")
            renames[name] = new_name
    if renames:
        incoming = rewrite_component_refs(incoming, renames)
        incoming_schemas = incoming.get("components", {}).get("schemas", {})
        incoming_schemas = {renames.get(k, k): v for k, v in incoming_schemas.items()}
    target_schemas.update(incoming_schemas)
    paths = target.setdefault("paths", {})
    for path, operations in incoming.get("paths", {}).items():
        merged = paths.setdefault(path, {})
        for method, operation in operations.items():
            if method in merged:
                raise SchemaClashError(f"{method.upper()} {path} is published twice")
            merged[method] = _normalize_operation(operation)
    return target


def _normalize_operation(operation: dict[str, Any]) -> dict[str, Any]:
    responses = {str(code): body for code, body in operation.get("responses", {}).items()}
    # Ninja adds a bare 200 "OK" to operations without a response model; drop it when the
    # contract declares a different success status (e.g. 202 for workflow triggers).
    bare_ok = "200" in responses and "content" not in responses["200"]
    if bare_ok and any(code.startswith("2") and code != "200" for code in responses):
        responses.pop("200")
    operation["responses"] = dict(sorted(responses.items()))
    return operation
