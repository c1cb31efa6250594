"""ModelAdmin bases for operational rows: read-only, and fast on big tables."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from workflows.admin.paging import EstimatedCountPaginator


class FastChangelist(admin.ModelAdmin):
    """Read-only changelist that stays fast on big operational tables.

    Operational rows change only through ``workflows.services`` (actions, API, CLI), never
    through an admin form: add, change and delete are off for everyone.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Steps and timeline rows are part of the run: whoever may view the run sees them.
        return request.user.has_perm("workflows.view_run") or request.user.has_perm(
            "workflows.change_run"
        )
