"""``ConsoleSite``: navigation grouped by what staff do, a dashboard index, extra pages.

Groups come from ``settings.RAWR_CONSOLE_GROUPS`` (group name → app labels or
``app_label.ModelName``); models of apps no group names land in "Capabilities";
``settings.RAWR_CONSOLE_HIDDEN_APPS`` (Celery's result tables) stay reachable by URL but
out of the navigation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.text import slugify

#: Where a model lands when no group names its app.
DEFAULT_GROUP = "Capabilities"

#: A dashboard panel: ``(request) -> context dict`` merged into the index page's context,
#: or ``None`` when the user may not see it.
Panel = Callable[[HttpRequest], "dict[str, Any] | None"]


@dataclass(frozen=True)
class ConsoleView:
    """A console page that is not a model's changelist (e.g. the approvals inbox)."""

    route: str
    view: Callable[..., HttpResponse]
    name: str
    label: str | None
    group: str
    permission: Callable[[HttpRequest], bool] | None


class ConsoleSite(admin.AdminSite):
    site_header = "RAWR HQ"
    site_title = "RAWR HQ"
    index_title = "Dashboard"
    index_template = "admin/console_index.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._views: list[ConsoleView] = []
        self._panels: list[tuple[int, Panel]] = []

    # -- extension points ---------------------------------------------------------------

    def register_view(
        self,
        route: str,
        view: Callable[..., HttpResponse],
        *,
        name: str,
        label: str | None = None,
        group: str = "Runs",
        permission: Callable[[HttpRequest], bool] | None = None,
    ) -> None:
        """Serve ``view`` at ``/admin/<route>`` behind the admin login (``admin:<name>``).

        With a ``label`` it is listed in ``group`` of the navigation for users that pass
        ``permission`` (every staff user without one). The view checks permissions itself.
        """
        if any(existing.name == name for existing in self._views):
            raise ValueError(f"console view {name!r} is already registered")
        self._views.append(ConsoleView(route, view, name, label, group, permission))

    def register_panel(self, panel: Panel, *, order: int = 100) -> None:
        """Add ``panel``'s context to the dashboard; lower ``order`` renders first."""
        self._panels.append((order, panel))
        self._panels.sort(key=lambda item: item[0])

    # -- AdminSite ----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(view.route, self.admin_view(view.view), name=view.name) for view in self._views
        ]
        return extra + super().get_urls()

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        if app_label is not None:
            return super().get_app_list(request, app_label)
        apps = self._build_app_dict(request)
        hidden = set(getattr(settings, "RAWR_CONSOLE_HIDDEN_APPS", ()))
        configured: dict[str, list[str]] = getattr(settings, "RAWR_CONSOLE_GROUPS", {})
        where = {member: group for group, members in configured.items() for member in members}
        groups: dict[str, list[dict]] = {name: [] for name in configured}
        for label, app in apps.items():
            if label in hidden:
                continue
            for model in app["models"]:
                key = f"{label}.{model['object_name']}"
                group = where.get(key) or where.get(label) or DEFAULT_GROUP
                groups.setdefault(group, []).append(model)
        for view in self._views:
            if view.label is None or (view.permission and not view.permission(request)):
                continue
            groups.setdefault(view.group, []).append(
                {
                    "name": view.label,
                    "object_name": view.name,
                    "perms": {"view": True},
                    "admin_url": reverse(f"{self.name}:{view.name}", current_app=self.name),
                    "add_url": None,
                    "view_only": True,
                }
            )
        result = []
        for name, models in groups.items():
            if not models:
                continue
            result.append(
                {
                    "name": name,
                    "app_label": slugify(name),
                    "app_url": models[0]["admin_url"],
                    "has_module_perms": True,
                    "models": models,
                }
            )
        return result

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        panels: dict[str, Any] = {}
        for _order, panel in self._panels:
            panels.update(panel(request) or {})
        return super().index(request, {**panels, **(extra_context or {})})
