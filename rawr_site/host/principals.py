"""Who is calling: the ``Principal`` of an API key or a logged-in user.

Shared by the derived transports (``rawr_site.transports.auth``) and the host's own DRF
views and authentication; it lives in the host app, below the transports, so the host
never imports the transports (no import cycle inside the kit).
"""

from __future__ import annotations

from django.http import HttpRequest

from rawr_site.contract.context import Principal
from rawr_site.host.models import ApiKey


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def principal_for_key(api_key: ApiKey) -> Principal:
    return Principal(
        kind="api_key",
        id=str(api_key.pk),
        name=api_key.prefix,
        first_party=api_key.first_party,
        scopes=frozenset(api_key.scopes) if api_key.scopes else None,
    )


def principal_for_user(user) -> Principal:
    return Principal(
        kind="user",
        id=str(user.pk),
        name=user.get_username(),
        first_party=True,
        is_staff=bool(user.is_staff),
        has_perm=user.has_perm,
    )
