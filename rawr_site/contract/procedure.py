"""Contracts and procedures: the single source every surface is derived from.

A capability declares each procedure once (name, input/output shapes, REST route,
visibility, summary, declared errors). Its handler is attached from ``operations/`` with
``@contract.implement("name")``. The host derives ``/rpc``, ``/api/orpc``, the in-process
client, the manifest and the OpenAPI entries from these objects; nothing is declared twice.

A procedure may declare the Django permission it needs (``permission="app.codename"``).
``Procedure.call`` -- the one path ``/rpc``, ``/api/orpc``, ``/api/workflows`` and the
in-process client share -- refuses a signed-in user without it with 403 ``FORBIDDEN``
before reading the input; API keys keep the scope rule and the system principal is
trusted (see ``Principal.holds``). Procedures without a permission are open to every
authenticated caller, plain signed-in (MFE) users included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from rawr_site.contract.context import BoundaryContext
from rawr_site.contract.errors import ErrorSpec, RawrError, bad_request

logger = logging.getLogger(__name__)

Visibility = Literal["internal", "external"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
#: Which published family an external procedure belongs to: plain procedures go to
#: ``/api/orpc``; workflow triggers (runtime issue) go to ``/api/workflows``.
Surface = Literal["orpc", "workflows"]

Handler = Callable[[BoundaryContext, Any], Any]

PROCEDURE_NAME_RE = re.compile(r"^[a-z][A-Za-z0-9]*$")
CAPABILITY_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
ERROR_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
PATH_PARAM_RE = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
PERMISSION_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass
class Procedure:
    """One operation of a capability. Built by ``Contract.procedure``; do not build directly."""

    capability: str
    name: str
    input: type[BaseModel] | None
    output: type[BaseModel] | None
    method: HttpMethod
    path: str
    visibility: Visibility
    summary: str
    description: str = ""
    errors: dict[str, ErrorSpec] = field(default_factory=dict)
    success_status: int = 200
    surface: Surface = "orpc"
    #: Django permission (``app_label.codename``) a signed-in user needs to call this.
    permission: str | None = None
    handler: Handler | None = None

    @property
    def key(self) -> str:
        return f"{self.capability}.{self.name}"

    @property
    def rpc_path(self) -> str:
        return f"/rpc/{self.capability}/{self.name}"

    @property
    def published_prefix(self) -> str:
        return "/api/orpc" if self.surface == "orpc" else "/api/workflows"

    @property
    def published_path(self) -> str | None:
        return f"{self.published_prefix}{self.path}" if self.visibility == "external" else None

    @property
    def path_params(self) -> list[str]:
        return PATH_PARAM_RE.findall(self.path)

    @property
    def operation_id(self) -> str:
        return f"{self.capability}_{self.name}"

    def is_defined(self, error: RawrError) -> bool:
        """oRPC's ``defined`` flag: the code is declared by this procedure's contract."""
        spec = self.errors.get(error.code)
        return spec is not None and spec.status == error.status

    # -- the one execution path every transport and the client share ----------------
    def parse_input(self, raw: Any, *, strict: bool = False) -> BaseModel | None:
        """Validate caller input; failures become 400 ``BAD_REQUEST`` with ``data.issues``.

        ``strict`` is for JSON a caller sent (request bodies): pydantic's strict mode, so
        ``true`` is not the id ``1`` and ``"5"`` is not a number, exactly as the published
        schema says (``3.0`` is still the integer 3, as in JSON Schema). Query strings,
        where every value is text, stay lax.
        """
        if self.input is None:
            return None
        data = {} if raw is None else raw
        try:
            if strict:
                return self.input.model_validate(_integral_floats_as_ints(data), strict=True)
            return self.input.model_validate(data)
        except ValidationError as exc:
            raise bad_request("Input validation failed", validation_issues(exc)) from exc

    def check_permission(self, ctx: BoundaryContext) -> None:
        """403 ``FORBIDDEN`` naming the permission when the caller does not hold it."""
        if self.permission is None or ctx.principal.holds(self.permission):
            return
        raise RawrError(
            "FORBIDDEN",
            403,
            f"Permission {self.permission!r} is required to call {self.key}",
            {"permission": self.permission},
        )

    def call(
        self, ctx: BoundaryContext, raw_input: Any, *, strict: bool = False
    ) -> BaseModel | None:
        """Check the permission, validate input, run the handler, validate output.

        Raises ``RawrError`` only. The permission is checked first, so a refused caller
        learns nothing about the input rules and nothing runs. ``strict``: see
        ``parse_input`` (the HTTP transports set it for JSON bodies).
        """
        if self.handler is None:
            raise RawrError("NOT_IMPLEMENTED", 501, f"Procedure {self.key} has no handler")
        self.check_permission(ctx)
        parsed = self.parse_input(raw_input, strict=strict)
        ctx.capability, ctx.procedure = self.capability, self.name
        result = self.handler(ctx, parsed)
        if self.output is None:
            return None
        if isinstance(result, self.output):
            return result
        try:
            return self.output.model_validate(result)
        except ValidationError as exc:
            logger.error("output of %s failed validation: %s", self.key, exc)
            raise RawrError("INTERNAL_SERVER_ERROR", 500, "Output validation failed") from exc

    def dump_output(self, output: BaseModel | None, *, mode: str = "json") -> Any:
        """Output with wire (camelCase) names (``mode="python"`` keeps datetimes for RPC meta).

        Every declared field is present, ``null`` when it has no value: the published
        schema lists every output field as required (nullable where it may be empty), so
        generated clients never meet an absent field they were told exists.
        """
        if output is None:
            return None
        return output.model_dump(mode=mode, by_alias=True)

    def problems(self) -> list[str]:
        """Declaration mistakes the manifest check and Django's system checks report."""
        out: list[str] = []
        if not PROCEDURE_NAME_RE.match(self.name):
            out.append(
                f"{self.key}: procedure name must be camelCase ({PROCEDURE_NAME_RE.pattern})"
            )
        prefix = f"/{self.capability}/"
        if not self.path.startswith(prefix) and self.path != prefix.rstrip("/"):
            out.append(
                f"{self.key}: route path {self.path!r} is outside its capability "
                f"(it must start with {prefix!r})"
            )
        if self.path_params and self.input is None:
            out.append(f"{self.key}: route has path params but the procedure takes no input")
        if self.input is not None:
            fields = _wire_field_names(self.input)
            missing = [p for p in self.path_params if p not in fields]
            if missing:
                out.append(f"{self.key}: path params {missing} are not fields of its input")
        for code, spec in self.errors.items():
            if not ERROR_CODE_RE.match(code) or not (spec.status >= 400 or spec.status < 200):
                out.append(f"{self.key}: bad declared error {code} ({spec.status})")
        if self.permission is not None and not PERMISSION_RE.match(self.permission):
            out.append(f"{self.key}: permission {self.permission!r} must be 'app_label.codename'")
        if self.handler is None:
            out.append(f"{self.key}: no handler (decorate one with @contract.implement)")
        return out


class Contract:
    """All procedures of one capability. Module-level ``contract`` in ``contract.py``."""

    def __init__(self, capability: str, *, title: str = "", description: str = "") -> None:
        if not CAPABILITY_ID_RE.match(capability):
            raise ValueError(f"capability id {capability!r} must match {CAPABILITY_ID_RE.pattern}")
        self.capability = capability
        self.title = title or capability
        self.description = description
        self._procedures: dict[str, Procedure] = {}

    def procedure(
        self,
        name: str,
        *,
        input: type[BaseModel] | None,
        output: type[BaseModel] | None,
        route: tuple[HttpMethod, str],
        visibility: Visibility,
        summary: str,
        description: str = "",
        errors: Iterable[ErrorSpec] = (),
        success_status: int = 200,
        surface: Surface = "orpc",
        permission: str | None = None,
    ) -> Procedure:
        """Declare a procedure. Raises on a duplicate name (registration must be loud).

        ``permission`` (``"app_label.codename"``) is the Django permission a signed-in
        user needs; every transport and the in-process client enforce it from here, and
        the manifest and the OpenAPI operation show it. API keys have no Django
        permissions: a key within its scopes may call the procedure (first-party service
        tokens too), and in-process calls as the system principal are trusted.
        """
        if name in self._procedures:
            raise ValueError(f"procedure {self.capability}.{name} is declared twice")
        method, path = route
        proc = Procedure(
            capability=self.capability,
            name=name,
            input=input,
            output=output,
            method=method,
            path=path,
            visibility=visibility,
            summary=summary,
            description=description,
            errors={spec.code: spec for spec in errors},
            success_status=success_status,
            surface=surface,
            permission=permission,
        )
        self._procedures[name] = proc
        return proc

    def implement(self, name: str) -> Callable[[Handler], Handler]:
        """Attach the handler of procedure ``name``; a second handler raises."""

        def decorator(func: Handler) -> Handler:
            proc = self.get(name)
            if proc.handler is not None and proc.handler is not func:
                raise ValueError(f"procedure {proc.key} already has a handler")
            proc.handler = func
            return func

        return decorator

    def get(self, name: str) -> Procedure:
        try:
            return self._procedures[name]
        except KeyError:
            raise KeyError(f"{self.capability} has no procedure {name!r}") from None

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self._procedures.values())

    def __contains__(self, name: object) -> bool:
        return name in self._procedures

    def problems(self) -> list[str]:
        out = [problem for proc in self for problem in proc.problems()]
        seen: dict[tuple[str, str], str] = {}
        for proc in self:
            if proc.visibility != "external":
                continue
            route = (proc.method, proc.path)
            if route in seen:
                out.append(
                    f"{proc.key}: route {proc.method} {proc.path} also used by {seen[route]}"
                )
            seen[route] = proc.key
        return out


def _integral_floats_as_ints(value: Any) -> Any:
    """``3.0`` is the integer 3, as JSON Schema (and JavaScript) says; strict pydantic would
    refuse it for an ``int`` field while the published schema promises it is one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    return value


def _wire_field_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for attr, info in model.model_fields.items():
        names.add(attr)
        if info.alias:
            names.add(info.alias)
    return names


def validation_issues(exc: ValidationError) -> list[dict[str, Any]]:
    """Standard-Schema style issues: ``message`` + ``path`` (+ pydantic's ``code``)."""
    issues = []
    for err in exc.errors(include_url=False):
        issues.append(
            {
                "code": err["type"],
                "path": [part for part in err["loc"]],
                "message": err["msg"],
            }
        )
    return issues
