"""Published routes (``/api/orpc`` + the contract's REST path): external procedures only.

Plain JSON as OpenAPILink speaks it: path params merged into the input (path wins), GET
input from the query string, other methods from the JSON body (an empty body means no
input), errors as the bare error object. The OpenAPI operation of each route is derived
from the same contract (``operation_fragment``) and merged into the published schema.
"""

from __future__ import annotations

import copy
import re
import warnings
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Router
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rawr_site.contract.errors import COMMON_ERRORS, RawrError
from rawr_site.contract.procedure import Contract, Procedure
from rawr_site.transports import wire
from rawr_site.transports.execution import read_json_body, run_procedure
from rawr_site.transports.querystring import is_array_schema, parse_query

REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_COMPONENT = "RawrErrorBody"
#: A procedure that declares this code honours the ``Idempotency-Key`` header.
IDEMPOTENT_ERROR = "IDEMPOTENCY_KEY_REUSED"
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Dedupes retries of this request for 24 h: the same key from the same caller with "
        "the same body answers the original run; with another body it is a 422 "
        "`IDEMPOTENCY_KEY_REUSED`."
    ),
    # An empty header is no key (a proxy may send one); the server refuses over 255.
    "schema": {"type": "string", "maxLength": 255},
}


def _read_published_input(proc: Procedure):
    def read(request: HttpRequest) -> Any:
        path_params = getattr(request, "rawr_path_params", None)
        if path_params is None:
            path_params = dict(request.resolver_match.kwargs) if request.resolver_match else {}
        if request.method == "GET":
            rest = parse_query(request.GET, proc.input)
        else:
            rest = read_json_body(request)
        if not path_params:
            return rest
        if rest is None:
            return path_params
        if not isinstance(rest, dict):
            raise RawrError(
                "BAD_REQUEST",
                400,
                "Input validation failed",
                {"issues": [{"message": "Expected a JSON object", "path": []}]},
            )
        return {**rest, **path_params}

    return read


def _write_published_output(proc: Procedure, output: Any) -> HttpResponse:
    if output is None:
        return HttpResponse(status=proc.success_status, content_type=wire.JSON_CONTENT_TYPE)
    return wire.json_response(proc.dump_output(output), status=proc.success_status)


def _write_published_error(error: RawrError, defined: bool) -> HttpResponse:
    return wire.api_error_response(error, defined=defined)


def make_published_view(proc: Procedure):
    read = _read_published_input(proc)

    def published_view(request: HttpRequest, **_: Any) -> HttpResponse:
        return run_procedure(
            request,
            proc,
            family="published",
            read_input=read,
            write_output=_write_published_output,
            write_error=_write_published_error,
        )

    published_view.__name__ = f"published_{proc.capability}_{proc.name}"
    return published_view


class SlashTolerantFallback:
    """Routes published requests whose path params contain ``/``.

    Django routes on the percent-decoded path, so ``runs/..%2Fx`` (what OpenAPILink sends
    for runId ``../x``) matches no Ninja route. Like oRPC's handler, which matches the raw
    path and decodes params afterwards, this view (mounted after the Ninja API) matches
    the decoded path against every published route with params allowed to span ``/``,
    picks the most specific one, and lets the procedure validate the param: the caller
    gets the procedure's own 400 (e.g. ``INVALID_RUN_ID``), not a bare 404.
    """

    def __init__(self, procedures: list[Procedure]) -> None:
        self.routes = []
        for proc in procedures:
            pattern = ""
            for part in re.split(r"({[A-Za-z_][A-Za-z0-9_]*})", proc.path):
                if part.startswith("{"):
                    pattern += f"(?P<{part[1:-1]}>.+)"
                else:
                    pattern += re.escape(part)
            literal = len(re.sub(r"{[^}]*}", "", proc.path))
            self.routes.append((re.compile(f"^{pattern}$"), literal, proc))
        self.routes.sort(key=lambda route: -route[1])
        self.views = {proc.key: make_published_view(proc) for proc in procedures}

    def __call__(self, request: HttpRequest, rest: str) -> HttpResponse:
        path = "/" + rest
        allowed: list[str] = []
        for regex, _literal, proc in self.routes:
            match = regex.match(path)
            if match is None or not any(match.groupdict().values()):
                continue
            if proc.method != request.method:
                allowed.append(proc.method)
                continue
            request.rawr_path_params = match.groupdict()  # type: ignore[attr-defined]
            return self.views[proc.key](request)
        if allowed:
            error = RawrError(
                "METHOD_NOT_SUPPORTED",
                405,
                f"Method {request.method} is not "
                f"supported here (allowed: {', '.join(sorted(set(allowed)))})",
            )
        else:
            error = RawrError("NOT_FOUND", 404, "Not Found")
        return wire.api_error_response(error)


class ContractNinjaAPI(NinjaAPI):
    """A NinjaAPI whose OpenAPI document carries the contract's component schemas."""

    def __init__(self, *args: Any, catalog: SchemaCatalog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = catalog

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(copy.deepcopy(self.catalog.components))
        return schema


def build_published_api(contracts: list[Contract], *, surface: str, namespace: str) -> NinjaAPI:
    procedures = [
        proc
        for contract in contracts
        for proc in contract
        if proc.visibility == "external" and proc.surface == surface
    ]
    catalog = SchemaCatalog(procedures)
    api = ContractNinjaAPI(
        title=f"RAWR published routes ({surface})",
        urls_namespace=namespace,
        docs_url=None,
        openapi_url=None,
        catalog=catalog,
    )
    for contract in contracts:
        router = Router(tags=[contract.capability])
        for proc in contract:
            if proc.visibility != "external" or proc.surface != surface:
                continue
            with warnings.catch_warnings():
                # Path params are read from the resolver match and merged into the input
                # (path wins), not declared as view arguments.
                warnings.filterwarnings("ignore", message=r"Field\(s\) .* are in the view path")
                _add_operation(router, proc, catalog)
        api.add_router("", router)
    api.fallback = csrf_exempt(SlashTolerantFallback(procedures))
    return api


def _add_operation(router: Router, proc: Procedure, catalog: SchemaCatalog) -> None:
    router.add_api_operation(
        proc.path,
        [proc.method],
        make_published_view(proc),
        operation_id=proc.operation_id,
        summary=proc.summary,
        description=operation_description(proc) or None,
        tags=[proc.capability],
        openapi_extra=operation_fragment(proc, catalog),
        url_name=f"{proc.capability}.{proc.name}",
    )


# -- OpenAPI derived from the contract ---------------------------------------------------
def _models(procedures: list[Procedure]) -> list[tuple[type[BaseModel], str]]:
    seen: dict[tuple[type[BaseModel], str], None] = {}
    for proc in procedures:
        if proc.input is not None:
            seen[(proc.input, "validation")] = None
        if proc.output is not None:
            seen[(proc.output, "serialization")] = None
    return list(seen)


class SchemaCatalog:
    """The component schemas of one published API, each model named once.

    All input (validation) and output (serialization) models of the API are generated
    together, so a model used both ways whose two schemas differ (outputs list every
    field as required) gets two components: ``Name`` for the output and ``NameInput`` for
    the input. Operations take their ``$ref`` from here, so refs and components agree.
    """

    def __init__(self, procedures: list[Procedure]) -> None:
        models = _models(procedures)
        self.components: dict[str, Any] = {}
        self._refs: dict[tuple[type[BaseModel], str], dict[str, Any]] = {}
        if not models:
            return
        keys, top = models_json_schema(models, ref_template=REF_TEMPLATE, by_alias=True)
        defs = top.get("$defs", {})
        renames = _friendly_names(defs)
        for name, schema in rewrite_component_refs(defs, renames).items():
            self.components[renames.get(name, name)] = schema
        for key, ref in keys.items():
            self._refs[key] = rewrite_component_refs(dict(ref), renames)

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        return copy.deepcopy(self._refs[(model, mode)])


def _friendly_names(defs: dict[str, Any]) -> dict[str, str]:
    """``X-Output`` -> ``X`` and ``X-Input`` -> ``XInput`` (pydantic's names otherwise)."""
    renames: dict[str, str] = {}
    taken = set(defs)
    for name in defs:
        base, sep, mode = name.rpartition("-")
        if not sep or mode not in ("Input", "Output"):
            continue
        wanted = base if mode == "Output" else f"{base}Input"
        if wanted in taken:
            wanted = f"{base}{mode}"
        if wanted in taken:
            continue
        renames[name] = wanted
        taken.add(wanted)
    return renames


def rewrite_component_refs(node: Any, renames: dict[str, str]) -> Any:
    """``node`` with every ``$ref`` to a renamed component pointing at its new name."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                prefix, _, name = value.rpartition("/")
                value = f"{prefix}/{renames.get(name, name)}"
            out[key] = rewrite_component_refs(value, renames)
        return out
    if isinstance(node, list):
        return [rewrite_component_refs(item, renames) for item in node]
    return node


def error_body_schema(codes: list[str] | None = None) -> dict[str, Any]:
    """The error object; with ``codes``, ``code`` is an enum of exactly those codes.

    Each operation's error responses carry their own enum (the codes the operation
    declares for that status plus the common code of the status), so generated clients
    get a union type per answer instead of a plain string.
    """
    code: dict[str, Any] = {"type": "string", "examples": ["BAD_REQUEST"]}
    if codes:
        code = {"type": "string", "enum": sorted(set(codes))}
    return {
        "type": "object",
        "description": "The one error shape of every /api route (oRPC error object).",
        "properties": {
            "defined": {
                "type": "boolean",
                "description": "True when the code is declared by the operation's contract.",
            },
            "code": code,
            "status": {"type": "integer"},
            "message": {"type": "string"},
            "data": {"description": "Error details, e.g. `issues` for BAD_REQUEST."},
        },
        "required": ["defined", "code", "status", "message"],
        "additionalProperties": False,
    }


def common_code(status: int) -> str:
    """The common code (``COMMON_ERRORS``) a transport answers with for ``status``."""
    for code, (code_status, _message) in COMMON_ERRORS.items():
        if code_status == status:
            return code
    return "INTERNAL_SERVER_ERROR" if status >= 500 else "BAD_REQUEST"


def error_response(status: int, codes: list[str], note: str = "") -> dict[str, Any]:
    """One declared error answer: its codes in the description and as the ``code`` enum."""
    codes = sorted({*codes, common_code(status)})
    description = "Error: " + ", ".join(f"`{code}`" for code in codes) + note
    return {
        "description": description,
        "content": {"application/json": {"schema": error_body_schema(codes)}},
    }


def _input_properties(proc: Procedure) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """(properties, required, $defs) of the input schema, with wire names."""
    if proc.input is None:
        return {}, [], {}
    schema = proc.input.model_json_schema(by_alias=True, ref_template=REF_TEMPLATE)
    return schema.get("properties", {}), list(schema.get("required", [])), schema


def operation_description(proc: Procedure) -> str:
    """The contract's description plus, when declared, the permission sentence."""
    parts = [proc.description] if proc.description else []
    if proc.permission:
        parts.append(
            f"Requires the Django permission `{proc.permission}` when called with a "
            "signed-in session (403 `FORBIDDEN` without it); API keys may call it within "
            "their scopes."
        )
    return "\n\n".join(parts)


def operation_fragment(proc: Procedure, catalog: SchemaCatalog) -> dict[str, Any]:
    """``openapi_extra`` for the Ninja operation: parameters, body, responses, permission."""
    props, required, _schema = _input_properties(proc)
    parameters: list[dict[str, Any]] = []
    for name in proc.path_params:
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": _strip(props.get(name, {"type": "string"})),
            }
        )
    fragment: dict[str, Any] = {}
    rest = {key: value for key, value in props.items() if key not in proc.path_params}
    rest_required = [key for key in required if key not in proc.path_params]
    if proc.method == "GET":
        for name, prop in rest.items():
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in rest_required,
                "schema": _strip(prop),
            }
            if _is_object(prop):
                param["style"] = "deepObject"
                param["explode"] = True
            elif is_array_schema(prop):
                param["style"] = "form"
                param["explode"] = True
            if prop.get("description"):
                param["description"] = prop["description"]
            parameters.append(param)
    elif proc.input is not None:
        if proc.path_params:
            body_schema: dict[str, Any] = {"type": "object", "properties": copy.deepcopy(rest)}
            if rest_required:
                body_schema["required"] = rest_required
        else:
            body_schema = catalog.ref(proc.input, "validation")
        fragment["requestBody"] = {
            "required": bool(rest_required),
            "content": {"application/json": {"schema": body_schema}},
        }
    if IDEMPOTENT_ERROR in proc.errors:
        parameters.append(IDEMPOTENCY_KEY_PARAMETER)
    if parameters:
        fragment["parameters"] = parameters
    fragment["responses"] = _responses(proc, catalog)
    if proc.permission:
        fragment["x-rawr-permission"] = proc.permission
    return fragment


def _responses(proc: Procedure, catalog: SchemaCatalog) -> dict[str, Any]:
    success: dict[str, Any] = {"description": proc.summary or "OK"}
    if proc.output is not None:
        success["content"] = {
            "application/json": {"schema": catalog.ref(proc.output, "serialization")}
        }
    responses: dict[str, Any] = {str(proc.success_status): success}
    by_status: dict[int, list[str]] = {}
    for spec in proc.errors.values():
        by_status.setdefault(spec.status, []).append(spec.code)
    # What every published route can answer besides the declared codes: bad input, no or
    # a bad credential, a refused caller, an oversize request, a busy database; a body
    # that is not JSON; an id in the path that names nothing.
    for status in (400, 401, 403, 413, 503):
        by_status.setdefault(status, [])
    if proc.method != "GET":
        by_status.setdefault(415, [])
    if proc.path_params:
        by_status.setdefault(404, [])
    for status in sorted(by_status):
        note = ""
        if status == 403 and proc.permission:
            note = f" (also when the session user lacks `{proc.permission}`)"
        responses[str(status)] = error_response(status, by_status[status], note)
    return responses


def _strip(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out.pop("title", None)
    return out


def _is_object(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "object" or "$ref" in schema:
        return True
    return any(_is_object(option) for option in schema.get("anyOf", []))
