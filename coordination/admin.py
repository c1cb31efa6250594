"""Coordination workflows and desk memory in the admin; workflow pages are the canvas.

Stored versions are immutable: there is no change form and no delete. A version's page is
the canvas (``console_canvas`` + ``static/console/canvas.js``): the desk graph drawn as a
layered DAG, edited in place and saved as the *next* version through
``services.workflow_save``, exactly like the API, so a document drawn here runs unchanged
through the API and the CLI. A refused document shows each problem by its code on the desk
or handoff it concerns, and nothing is stored.

Viewing needs ``coordination.view_workflowversion``; saving, importing and running need
``coordination.add_workflowversion`` (without it the canvas is read-only and the POST URLs
answer 403). Every save and run writes a Django admin ``LogEntry``.

The JSON import form of "Add" stays reachable (``?form=import`` and any POST to "Add").
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from coordination import console_canvas, selectors, services
from coordination.domain.document import DESK_KINDS_V1
from coordination.models import DeskMemory, WorkflowVersion
from rawr_site.contract.errors import RawrError
from workflows.admin.audit import log_change
from workflows.admin.editors import EditorError, parse_editor_json


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
            document = parse_editor_json(text)
        except EditorError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc
        try:
            services.workflow_check(document=document)
        except RawrError as exc:
            raise forms.ValidationError(error_lines(exc)) from exc
        return document


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


#: Versions listed on a workflow's history page (newest first).
HISTORY_LIMIT = 200


def _json_body(request: HttpRequest) -> tuple[Any, str | None]:
    """The request's JSON body, or an error text for the page (the editors' own rules:
    no NaN / Infinity, bounded size and depth)."""
    try:
        return parse_editor_json(request.body.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "Not valid JSON: the body is not UTF-8"
    except EditorError as exc:
        return None, f"Not valid JSON: {exc}"


def _parse_version(value: str) -> int | None:
    # isdigit() alone lets "²" through, which int() refuses (a 500).
    return int(value) if value.isascii() and value.isdigit() else None


def _runs_url(workflow_id: str) -> str:
    return f"{reverse('admin:workflows_run_changelist')}?{urlencode({'workflow_id': workflow_id})}"


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = (
        "workflow_id",
        "version",
        "name",
        "desk_count",
        "created_at",
        "created_by",
        "links",
    )
    list_filter = (CurrentVersionFilter,)
    search_fields = ("workflow_id", "name")
    search_help_text = "Workflow id or name."
    ordering = ("workflow_id", "-version")
    add_fieldsets = ((None, {"fields": ("document_json",)}),)
    canvas_template = "admin/coordination/workflowversion/canvas.html"
    versions_template = "admin/coordination/workflowversion/versions.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkflowVersion]:
        return super().get_queryset(request).annotate(desk_total=Count("desks"))

    @admin.display(description="desks", ordering="desk_total")
    def desk_count(self, obj: WorkflowVersion) -> int:
        return obj.desk_total  # type: ignore[attr-defined]

    @admin.display(description="")
    def links(self, obj: WorkflowVersion) -> str:
        return format_html(
            '<a href="{}">versions</a> · <a href="{}">runs</a>',
            reverse("admin:coordination_workflowversion_versions", args=[obj.workflow_id]),
            _runs_url(obj.workflow_id),
        )

    # -- immutable rows: no change form, no delete --------------------------------------------

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fieldsets

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        kwargs["form"] = WorkflowImportForm
        kwargs["fields"] = ("document_json",)
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        document = self._start_document(request)
        if document is not None:
            initial["document_json"] = json.dumps(document, indent=2, ensure_ascii=False)
        return initial

    def _start_document(self, request: HttpRequest) -> dict[str, Any] | None:
        """``?from=<workflowId>&version=<n>``: a stored version to start a new one from."""
        source = request.GET.get("from")
        if not source:
            return None
        wanted = _parse_version(request.GET.get("version", ""))
        return selectors.workflow_export(workflow_id=source, version=wanted)

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

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: Any = None
    ) -> HttpResponse:
        """After an import, open the new version's canvas."""
        self.message_user(
            request, f"Saved {obj.workflow_id} version {obj.version}.", messages.SUCCESS
        )
        return HttpResponseRedirect(self._canvas_url(obj))

    # -- the canvas -----------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        def wrap(view: Any) -> Any:
            return self.admin_site.admin_view(view)

        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("canvas/validate/", wrap(self.validate_view), name=f"{name}_validate"),
            path("canvas/save/", wrap(self.save_canvas_view), name=f"{name}_save"),
            path("versions/<str:workflow_id>/", wrap(self.versions_view), name=f"{name}_versions"),
            path("<path:object_id>/export/", wrap(self.export_view), name=f"{name}_export"),
            path("<path:object_id>/run/", wrap(self.run_view), name=f"{name}_run"),
            *super().get_urls(),
        ]

    def _canvas_url(self, obj: WorkflowVersion) -> str:
        return reverse("admin:coordination_workflowversion_change", args=[obj.pk])

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """GET: an empty canvas (or one started from ``?from=``); POST: the JSON import."""
        if request.method == "POST" or request.GET.get("form") == "import":
            return super().add_view(request, form_url, extra_context)
        if not self.has_add_permission(request):
            raise PermissionDenied
        document = self._start_document(request)
        if document is None:
            document = {
                "workflowId": "",
                "name": "",
                "entryDeskId": "",
                "desks": [],
                "handoffs": [],
            }
        return self._canvas_response(request, obj=None, document=document)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """A stored version's canvas; versions never change, so only GET is answered."""
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return self._canvas_response(request, obj=obj, document=obj.document)

    def _canvas_response(
        self, request: HttpRequest, *, obj: WorkflowVersion | None, document: Any
    ) -> TemplateResponse:
        can_edit = self.has_add_permission(request)
        latest = None
        if obj is not None:
            latest = selectors.workflow_version_get(workflow_id=obj.workflow_id)
        doc = document if isinstance(document, dict) else {}
        is_latest = obj is not None and latest is not None and latest.pk == obj.pk
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": (
                f"{obj.workflow_id} · version {obj.version}" if obj is not None else "New workflow"
            ),
            "subtitle": None,
            "original": obj,
            "latest": latest,
            "is_latest": is_latest,
            "document": document,
            "desks": [d for d in doc.get("desks") or [] if isinstance(d, dict)],
            "handoffs": [h for h in doc.get("handoffs") or [] if isinstance(h, dict)],
            "issues": console_canvas.document_issues(document) if obj is not None else [],
            "can_edit": can_edit,
            "can_run": can_edit and is_latest,
            "entry_schema": console_canvas.entry_input_schema(doc),
            "canvas_config": {
                "editable": can_edit,
                "validateUrl": reverse("admin:coordination_workflowversion_validate"),
                "saveUrl": reverse("admin:coordination_workflowversion_save"),
                "runUrl": (
                    reverse("admin:coordination_workflowversion_run", args=[obj.pk])
                    if obj is not None and can_edit and is_latest
                    else None
                ),
                "deskKinds": list(DESK_KINDS_V1),
                "savedVersion": obj.version if obj is not None else None,
            },
            "runs_url": _runs_url(obj.workflow_id) if obj is not None else None,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.canvas_template, context)

    def _refuse_without_add(self, request: HttpRequest) -> None:
        if not self.has_add_permission(request):
            raise PermissionDenied

    def validate_view(self, request: HttpRequest) -> JsonResponse:
        """POST ``{"document": ...}`` -> ``{"ok", "issues"}``: what a save would say."""
        if request.method != "POST":
            return JsonResponse({"ok": False, "message": "POST a document"}, status=405)
        self._refuse_without_add(request)
        body, error = _json_body(request)
        if error is not None:
            return JsonResponse({"ok": False, "message": error, "issues": []}, status=400)
        document = body.get("document") if isinstance(body, dict) else None
        issues = console_canvas.document_issues(document)
        return JsonResponse({"ok": not issues, "issues": issues})

    def save_canvas_view(self, request: HttpRequest) -> JsonResponse:
        """POST ``{"document": ...}``: save the next version through ``workflow_save``.

        200 ``{"ok": true, "url", "workflowId", "version"}`` plus a ``LogEntry``, or 400
        ``{"ok": false, "message", "issues"}`` with nothing stored.
        """
        if request.method != "POST":
            return JsonResponse({"ok": False, "message": "POST a document"}, status=405)
        self._refuse_without_add(request)
        body, error = _json_body(request)
        if error is not None:
            return JsonResponse({"ok": False, "message": error, "issues": []}, status=400)
        document = body.get("document") if isinstance(body, dict) else None
        try:
            row = services.workflow_save(document=document, by=request.user.get_username())
        except RawrError:
            issues = console_canvas.document_issues(document)
            return JsonResponse(
                {
                    "ok": False,
                    "message": f"Not saved: {len(issues)} problem(s) to fix first.",
                    "issues": issues,
                },
                status=400,
            )
        log_change(request, row, f"Saved version {row.version} of {row.workflow_id} (canvas)")
        self.message_user(
            request, f"Saved {row.workflow_id} version {row.version}.", messages.SUCCESS
        )
        return JsonResponse(
            {
                "ok": True,
                "url": self._canvas_url(row),
                "workflowId": row.workflow_id,
                "version": row.version,
            }
        )

    def run_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """POST ``{"input": ...}``: run this workflow's current version as the user.

        The input is checked against the entry desk's ``inputSchema`` first: a failure is a
        400 with the reasons and nothing is queued. 200 ``{"ok", "runId", "url"}``.
        """
        if request.method != "POST":
            return JsonResponse({"ok": False, "message": "POST an input"}, status=405)
        self._refuse_without_add(request)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return JsonResponse({"ok": False, "message": "No such workflow version"}, status=404)
        latest = selectors.workflow_version_get(workflow_id=obj.workflow_id)
        if latest is None or latest.pk != obj.pk:
            message = (
                f"Runs start the current version; this is version {obj.version}. "
                "Open the current version to run it."
            )
            return JsonResponse({"ok": False, "message": message, "errors": []}, status=409)
        body, error = _json_body(request)
        if error is not None or not isinstance(body, dict) or "input" not in body:
            message = error or 'Send {"input": ...}'
            return JsonResponse({"ok": False, "message": message, "errors": []}, status=400)
        errors = console_canvas.run_input_errors(obj.document, body["input"])
        if errors:
            message = "The input does not match the entry desk's inputSchema; nothing was queued."
            return JsonResponse({"ok": False, "message": message, "errors": errors}, status=400)
        try:
            run_id = console_canvas.run_start(
                request=request, workflow_id=obj.workflow_id, input=body["input"]
            )
        except RawrError as exc:
            return JsonResponse(
                {"ok": False, "message": f"{exc.code}: {exc.message}", "errors": []},
                status=exc.status,
            )
        log_change(request, obj, f"Started run {run_id} of {obj.workflow_id} v{obj.version}")
        return JsonResponse(
            {
                "ok": True,
                "runId": run_id,
                "url": reverse("admin:workflows_run_change", args=[quote(run_id)]),
            }
        )

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The stored document as a JSON download (what an import here or elsewhere takes)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such workflow version")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        text = json.dumps(obj.document, indent=2, ensure_ascii=False)
        response = HttpResponse(text + "\n", content_type="application/json; charset=utf-8")
        filename = f"{obj.workflow_id}-v{obj.version}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def versions_view(self, request: HttpRequest, workflow_id: str) -> TemplateResponse:
        """Every version of one workflow, and any two of them side by side (``?a=&b=``)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = list(
            self.get_queryset(request)
            .filter(workflow_id=workflow_id)
            .order_by("-version")[:HISTORY_LIMIT]
        )
        if not rows:
            raise Http404("No such workflow")
        by_version = {row.version: row for row in rows}
        a = _parse_version(request.GET.get("a", ""))
        b = _parse_version(request.GET.get("b", ""))
        if a is None and b is None and len(rows) >= 2:
            a, b = rows[1].version, rows[0].version
        left = by_version.get(a) if a is not None else None
        right = by_version.get(b) if b is not None else None
        diff = console_canvas.version_diff(left, right) if left and right else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{workflow_id}: versions",
            "subtitle": None,
            "workflow_id": workflow_id,
            "rows": rows,
            "limited": len(rows) == HISTORY_LIMIT,
            "a": a,
            "b": b,
            "left": left,
            "right": right,
            "diff": diff,
            "runs_url": _runs_url(workflow_id),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.versions_template, context)


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
