"""Coordination workflows and desk memory in the admin.

Stored versions are immutable: the change page is read-only and there is no delete. A new
version is made by "Add" (paste or edit a CoordinationWorkflowV1 document), which goes
through ``services.workflow_save`` exactly like the API; a refused document shows each
problem by its code (``INCOMPATIBLE_HANDOFF (h-a-b): ...``) and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from coordination import selectors, services
from coordination.models import Desk, DeskMemory, Handoff, WorkflowVersion
from rawr_site.contract.errors import RawrError


def _pretty_json(value: Any) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False),
    )


def error_lines(error: RawrError) -> list[str]:
    """One line per problem, led by its code: what the import form shows."""
    data = error.data if isinstance(error.data, dict) else {}
    if error.code == "WORKFLOW_VALIDATION_FAILED":
        lines = []
        for item in data.get("errors", []):
            ids = [item[k] for k in ("handoffId", "deskId") if item.get(k) is not None]
            where = f" ({', '.join(ids)})" if ids else ""
            lines.append(f"{item['code']}{where}: {item['message']}")
        return lines or [f"{error.code}: {error.message}"]
    if error.code == "BAD_REQUEST" and data.get("issues"):
        lines = []
        for issue in data["issues"]:
            path = ".".join(str(part) for part in issue.get("path", [])) or "document"
            lines.append(f"{error.code} ({path}): {issue['message']}")
        return lines
    return [f"{error.code}: {error.message}"]


class WorkflowImportForm(forms.ModelForm):
    """The add form: one JSON document, checked by the same service that saves it."""

    document_json = forms.CharField(
        label="Workflow document (JSON)",
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "style": "font-family: monospace"}),
        help_text=(
            "A CoordinationWorkflowV1 document. Saving stores it as the next version of its "
            "workflowId; version and updatedAt are set on save."
        ),
    )

    class Meta:
        model = WorkflowVersion
        fields: tuple[str, ...] = ()

    def clean_document_json(self) -> dict[str, Any]:
        text = self.cleaned_data["document_json"]
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc
        try:
            services.workflow_check(document=document)
        except RawrError as exc:
            raise forms.ValidationError(error_lines(exc)) from exc
        return document


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeskInline(_ReadOnlyInline):
    model = Desk
    fields = ("position", "desk_id", "kind", "name", "domain")
    readonly_fields = fields


class HandoffInline(_ReadOnlyInline):
    model = Handoff
    fields = ("position", "handoff_id", "from_desk_id", "to_desk_id", "condition")
    readonly_fields = fields


class CurrentVersionFilter(admin.SimpleListFilter):
    title = "versions"
    parameter_name = "versions"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("current", "Current only")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[WorkflowVersion]
    ) -> QuerySet[WorkflowVersion]:
        if self.value() == "current":
            return queryset.filter(pk__in=selectors.latest_versions().values("pk"))
        return queryset


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ("workflow_id", "version", "name", "desk_count", "created_at", "created_by")
    list_filter = (CurrentVersionFilter,)
    search_fields = ("workflow_id", "name")
    search_help_text = "Workflow id or name."
    ordering = ("workflow_id", "-version")
    inlines = (DeskInline, HandoffInline)
    fields = (
        "workflow_id",
        "version",
        "name",
        "entry_desk_id",
        "created_at",
        "created_by",
        "new_version_link",
        "document_pretty",
    )
    readonly_fields = fields
    add_fieldsets = ((None, {"fields": ("document_json",)}),)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkflowVersion]:
        return super().get_queryset(request).annotate(desk_total=Count("desks"))

    @admin.display(description="desks", ordering="desk_total")
    def desk_count(self, obj: WorkflowVersion) -> int:
        return obj.desk_total  # type: ignore[attr-defined]

    @admin.display(description="document")
    def document_pretty(self, obj: WorkflowVersion) -> str:
        return _pretty_json(obj.document)

    @admin.display(description="edit")
    def new_version_link(self, obj: WorkflowVersion) -> str:
        url = reverse("admin:coordination_workflowversion_add")
        return format_html(
            '<a href="{}?from={}&amp;version={}">Edit as a new version</a>',
            url,
            obj.workflow_id,
            obj.version,
        )

    # -- immutable rows; "add" is the JSON import -----------------------------------------

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else ()

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.add_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = WorkflowImportForm
            kwargs["fields"] = ("document_json",)
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        source = request.GET.get("from")
        if source:
            version = request.GET.get("version", "")
            # isdigit() alone lets "²" through, which int() refuses (a 500).
            wanted = int(version) if version.isascii() and version.isdigit() else None
            document = selectors.workflow_export(workflow_id=source, version=wanted)
            if document is not None:
                initial["document_json"] = json.dumps(document, indent=2, ensure_ascii=False)
        return initial

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = services.workflow_save(
            document=form.cleaned_data["document_json"], by=request.user.get_username()
        )
        # The admin goes on with ``obj`` (message, log entry, redirect): make it the row.
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Desks and handoffs were written by the service with the version.
        return None


@admin.register(DeskMemory)
class DeskMemoryAdmin(admin.ModelAdmin):
    list_display = ("workflow_id", "workflow_version", "desk_id", "key", "expires_at", "updated_at")
    search_fields = ("=workflow_id", "=desk_id", "key")
    search_help_text = "Exact workflow id or desk id, or part of a key."
    fields = (
        "workflow_id",
        "workflow_version",
        "desk_id",
        "key",
        "expires_at",
        "created_at",
        "updated_at",
        "data_pretty",
    )
    readonly_fields = fields

    @admin.display(description="data")
    def data_pretty(self, obj: DeskMemory) -> str:
        return _pretty_json(obj.data)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
