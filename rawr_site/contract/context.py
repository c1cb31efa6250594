"""The boundary context: who is calling, how, and under which correlation id.

The host builds one per request (``rawr_site.transports.auth``) and hands it to the
handler; the workflow runtime copies it into Celery headers and timeline events, so one id
ties an HTTP request to everything it caused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

CallerMode = Literal["first-party", "external", "internal"]


@dataclass(frozen=True)
class Principal:
    """The caller: a Django user, an API key, or the system itself (in-process calls)."""

    kind: Literal["user", "api_key", "system"]
    id: str
    name: str
    first_party: bool
    #: Capability ids the principal may call; ``None`` means every capability.
    scopes: frozenset[str] | None = None
    is_staff: bool = False
    #: For ``kind="user"``: the Django user's ``has_perm`` (set by ``principal_for_user``).
    #: Kept as a callable so the contract kit needs no Django models and permissions are
    #: only looked up when a procedure declares one. A user principal without it holds
    #: no permission at all (fails closed).
    has_perm: Callable[[str], bool] | None = field(default=None, compare=False, repr=False)

    def allows(self, capability: str) -> bool:
        return self.scopes is None or capability in self.scopes

    def holds(self, permission: str) -> bool:
        """May this principal call a procedure that declares ``permission``?

        Users need the Django permission itself (superusers hold every one). API keys have
        no Django permissions: their capability scopes (checked at authentication) are
        the whole rule, so a key within its scopes may call it, and a first-party service
        token may too. The system principal (in-process calls by commands and workers) is
        trusted.
        """
        if self.kind != "user":
            return True
        return self.has_perm is not None and bool(self.has_perm(permission))

    def label(self) -> str:
        """Stable text for audit fields: ``user:alice``, ``api_key:ab12cd34``, ``system:cli``."""
        if self.kind == "system" and self.name == "system":
            return "system"
        return f"{self.kind}:{self.name}"


SYSTEM = Principal(kind="system", id="system", name="system", first_party=True)


@dataclass
class BoundaryContext:
    """Everything a handler may know about the call besides its input."""

    principal: Principal
    caller_mode: CallerMode
    correlation_id: str
    capability: str = ""
    procedure: str = ""
    transport: Literal["rpc", "openapi", "client"] = "client"
    #: The Django request for HTTP calls; ``None`` for in-process calls.
    request: Any = None
    #: The caller's ``Idempotency-Key`` header (HTTP) or argument (in-process).
    idempotency_key: str | None = None
    deps: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def internal(
        cls, *, correlation_id: str | None = None, principal: Principal = SYSTEM
    ) -> BoundaryContext:
        """Context for in-process calls (other apps, commands, workers)."""
        return cls(
            principal=principal,
            caller_mode="internal",
            correlation_id=correlation_id or new_correlation_id(),
        )


def new_correlation_id() -> str:
    return uuid.uuid4().hex
