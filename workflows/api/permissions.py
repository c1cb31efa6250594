"""Who may use the runs API, and which runs they see.

============================  ==========================  ==============================
caller                        reads                       cancel / retry / replay
============================  ==========================  ==============================
anonymous                     401                         401
session, not staff            403                         403
staff session                 every run                   with ``workflows.<action>_run``
API key                       runs of its scopes          runs of its scopes
============================  ==========================  ==============================

A run outside an API key's scopes answers 404 (see ``workflows.selectors``), never 403.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from rawr_site.host.drf_auth import ApiKeyUser
from rawr_site.transports.auth import principal_for_user

#: View action -> the Django model permission a staff user needs for it.
ACTION_PERMISSIONS = {
    "cancel": "workflows.cancel_run",
    "retry": "workflows.retry_run",
    "replay": "workflows.replay_run",
}


class StaffOrApiKeyPermission(BasePermission):
    """API keys (scoped by the selectors) and active staff sessions; a staff user also
    needs the model permission that ``action_permissions`` names for the view's action."""

    message = "This API needs an API key or a staff session"
    #: View action -> the Django model permission a staff user needs for it.
    action_permissions: dict[str, str] = {}

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if isinstance(user, ApiKeyUser):
            return True
        if not (user.is_active and user.is_staff):
            return False
        required = self.action_permissions.get(getattr(view, "action", "") or "")
        if required is not None and not user.has_perm(required):
            self.message = f"Missing permission {required}"
            return False
        return True


class RunsApiPermission(StaffOrApiKeyPermission):
    message = "The runs API needs an API key or a staff session"
    action_permissions = ACTION_PERMISSIONS


def visible_capabilities(request: Request) -> frozenset[str] | None:
    """The capabilities whose runs the caller may see; ``None`` means all."""
    user = request.user
    if isinstance(user, ApiKeyUser):
        return user.principal.scopes
    return None


def actor_label(request: Request) -> str:
    """Who acted, for the run's timeline: ``user:alice`` or ``api_key:ab12cd34``."""
    user = request.user
    if isinstance(user, ApiKeyUser):
        return user.principal.label()
    return principal_for_user(user).label()


def shows_tracebacks(request: Request) -> bool:
    """Tracebacks are server internals: staff sessions only, never API keys."""
    user = request.user
    return not isinstance(user, ApiKeyUser) and bool(getattr(user, "is_staff", False))
