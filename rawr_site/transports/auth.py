"""The auth matrix, enforced once for every derived route.

=================  ==============================  ===============================
caller             /rpc (first-party)              /api/orpc, /api/workflows
=================  ==============================  ===============================
anonymous          401 UNAUTHORIZED                401 UNAUTHORIZED
session + CSRF     allowed                         allowed
session, no CSRF   403 FORBIDDEN                   403 (unsafe methods)
service token      allowed (no CSRF needed)        allowed
external API key   403 FORBIDDEN                   allowed within its scopes, else 403
bad/revoked key    401 UNAUTHORIZED                401 UNAUTHORIZED
=================  ==============================  ===============================

Procedures that declare a Django permission in their contract (``permission=`` on
``Contract.procedure``, e.g. ``approveDesk`` -> ``workflows.decide_approval``) add one
rule, checked by ``Procedure.call`` after this module authenticated the caller: a session
user without the permission gets 403 ``FORBIDDEN`` naming it and nothing runs; API keys
(service tokens included) have no Django permissions and keep the scope rule above. A
plain signed-in (MFE) user may call every procedure that declares no permission.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja.utils import check_csrf

from rawr_site.contract.context import BoundaryContext
from rawr_site.contract.errors import RawrError
from rawr_site.host.principals import bearer_token, principal_for_key, principal_for_user
from rawr_site.host.services import apikey_authenticate
from rawr_site.log_context import correlation_id_of

Family = Literal["rpc", "published"]


def authenticate(
    request: HttpRequest, *, family: Family, capability: str, csrf_required: bool
) -> BoundaryContext:
    """Build the boundary context or raise the 401/403 ``RawrError`` of the matrix."""
    token = bearer_token(request)
    if token is not None:
        api_key = apikey_authenticate(secret=token)
        if api_key is None:
            raise RawrError("UNAUTHORIZED", 401, "Invalid or revoked API key")
        principal = principal_for_key(api_key)
        if family == "rpc" and not principal.first_party:
            raise RawrError("FORBIDDEN", 403, "External API keys cannot call /rpc")
        mode = "first-party" if principal.first_party else "external"
    else:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            raise RawrError("UNAUTHORIZED", 401, "Authentication required")
        if csrf_required and check_csrf(request) is not None:
            raise RawrError("FORBIDDEN", 403, "CSRF verification failed (send X-CSRFToken)")
        principal = principal_for_user(user)
        mode = "first-party"
    if not principal.allows(capability):
        raise RawrError("FORBIDDEN", 403, f"This key is not allowed to call {capability!r}")
    return BoundaryContext(
        principal=principal,
        caller_mode=mode,
        correlation_id=correlation_id_of(request),
        capability=capability,
        transport="rpc" if family == "rpc" else "openapi",
        request=request,
        idempotency_key=request.headers.get("Idempotency-Key") or None,
    )
