"""Host-owned DRF endpoints."""

from __future__ import annotations

from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rawr_site.host.drf_auth import ApiKeyUser
from rawr_site.host.principals import principal_for_user


class WhoAmIView(APIView):
    """Lets an integrator check which principal their key or session maps to."""

    @extend_schema(
        operation_id="auth_whoami",
        summary="Who am I: the principal behind this key or session",
        tags=["auth"],
        responses=inline_serializer(
            "WhoAmI",
            {
                "kind": serializers.ChoiceField(choices=["user", "api_key"]),
                "name": serializers.CharField(),
                "callerMode": serializers.ChoiceField(choices=["first-party", "external"]),
                "scopes": serializers.ListField(child=serializers.CharField(), allow_null=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        user = request.user
        principal = user.principal if isinstance(user, ApiKeyUser) else principal_for_user(user)
        return Response(
            {
                "kind": principal.kind,
                "name": principal.name,
                "callerMode": "first-party" if principal.first_party else "external",
                "scopes": sorted(principal.scopes) if principal.scopes is not None else None,
            }
        )


class CsrfTokenView(APIView):
    """Gives a first-party page (an MFE) the CSRF token to send as ``X-CSRFToken``.

    It also sets the ``csrftoken`` cookie, so a page that only has a session can call
    ``/rpc`` and unsafe ``/api`` routes right after fetching this.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_csrf",
        summary="CSRF token for session-authenticated first-party pages",
        tags=["auth"],
        auth=[],
        responses=inline_serializer("CsrfToken", {"csrfToken": serializers.CharField()}),
    )
    def get(self, request: Request) -> Response:
        return Response({"csrfToken": get_token(request._request)})
