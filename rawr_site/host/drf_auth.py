"""DRF authentication with RAWR API keys (``Authorization: Bearer rawr_...``)."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from rawr_site.contract.context import Principal
from rawr_site.host.principals import bearer_token, principal_for_key
from rawr_site.host.services import apikey_authenticate


@dataclass(frozen=True)
class ApiKeyUser:
    """What ``request.user`` is for a key-authenticated DRF request."""

    principal: Principal
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False

    def get_username(self) -> str:
        return self.principal.label()

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        token = bearer_token(request._request)
        if token is None:
            return None
        api_key = apikey_authenticate(secret=token)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key")
        return ApiKeyUser(principal=principal_for_key(api_key)), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="rawr"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular that DRF views accept the same bearer API keys."""

    target_class = "rawr_site.host.drf_auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "RAWR API key (rawr_...)"}
