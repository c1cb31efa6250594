"""The boundary context: who is calling, how, and under which correlation id.

The host builds one per request (``rawr_site.transports.auth``) and hands it to the
handler; the workflow runtime copies it into Celery headers and timeline events, so one id
ties an HTTP request to everything it caused.
"""

from __future__ import annotations

import uuid
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

    def allows(self, capability: str) -> bool:
        return self.scopes is None or capability in self.scopes

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
