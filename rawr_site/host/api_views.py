"""Host-owned DRF endpoints."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rawr_site.host.drf_auth import ApiKeyUser
from rawr_site.transports.auth import principal_for_user


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
