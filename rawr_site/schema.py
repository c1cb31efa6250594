"""The ONE published OpenAPI document: DRF views + the contract-derived Ninja routes.

drf-spectacular generates the DRF part; ``merge_contract_routes`` (a postprocessing hook)
adds the ``/api/orpc`` and ``/api/workflows`` operations that the Ninja APIs derive from
the contracts. ``/rpc`` and the admin are never published.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django.conf import settings
from rest_framework.permissions import AllowAny, BasePermission, IsAdminUser

PUBLISHED_PREFIXES = ("/api/orpc/", "/api/workflows/")
_UNPUBLISHED = ("/api/schema", "/api/docs", "/api/redoc")


class SchemaClashError(RuntimeError):
    """Two different component schemas want the same name and cannot be renamed."""


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
    result["paths"] = dict(sorted(result.get("paths", {}).items()))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


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
        incoming = _rewrite_refs(incoming, renames)
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


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                prefix, _, name = value.rpartition("/")
                value = f"{prefix}/{renames.get(name, name)}"
            out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _normalize_operation(operation: dict[str, Any]) -> dict[str, Any]:
    responses = {str(code): body for code, body in operation.get("responses", {}).items()}
    # Ninja adds a bare 200 "OK" to operations without a response model; drop it when the
    # contract declares a different success status (e.g. 202 for workflow triggers).
    bare_ok = "200" in responses and "content" not in responses["200"]
    if bare_ok and any(code.startswith("2") and code != "200" for code in responses):
        responses.pop("200")
    operation["responses"] = dict(sorted(responses.items()))
    return operation
