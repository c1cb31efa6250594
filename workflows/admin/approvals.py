"""The approvals inbox (``/admin/approvals/``) and the read-only ``Approval`` admin.

Every pending approval across runs, soonest due first, overdue ones highlighted, with the
context to decide on and approve / reject buttons (an optional JSON payload) straight
from the list. A decision goes through ``workflows.services.approval_decide`` (the call
the API and ``approveDesk`` make), which records the deciding user in the run's timeline;
the inbox also writes Django's admin ``LogEntry`` for it.

Who: staff with ``workflows.view_approval`` or ``workflows.decide_approval`` see the
inbox; only ``decide_approval`` shows the buttons, and a POST without it answers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from rawr_site.contract.errors import RawrError
from rawr_site.transports.auth import principal_for_user
from workflows import selectors, services
from workflows.admin.audit import log_change
from workflows.admin.display import folded_json, status_badge, when
from workflows.admin.editors import EditorError, parse_editor_json
from workflows.admin.paging import EstimatedCountPaginator
from workflows.models import Approval, ApprovalStatus

DECIDE = "workflows.decide_approval"
VIEW = "workflows.view_approval"
#: The inbox shows at most this many (soonest due first) and says so when there are more.
INBOX_LIMIT = 200
#: Payload text kept to refill the form after a refusal (per approval, in the session).
DRAFTS_KEY = "rawr_approval_drafts"
MAX_PAYLOAD_CHARS = 100_000


def may_view(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff) and (user.has_perm(VIEW) or user.has_perm(DECIDE))


def may_decide(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff) and request.user.has_perm(DECIDE)


def inbox(request: HttpRequest) -> HttpResponse:
    """GET: the list. POST: one decision (``approval_id``, ``decision``, ``payload``)."""
    if not may_view(request):
        raise PermissionDenied
    if request.method == "POST":
        return _decide(request)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    now = timezone.now()
    rows = list(
        selectors.approvals_pending()
        .select_related("run")
        .only(
            "id",
            "step_id",
            "title",
            "context",
            "created_at",
            "timeout_at",
            "workflow_id",
            "desk_id",
            "run__id",
            "run__function_id",
            "run__status",
        )[: INBOX_LIMIT + 1]
    )
    drafts: dict[str, str] = request.session.pop(DRAFTS_KEY, {}) if request.session else {}
    items = [_item(approval, now, drafts) for approval in rows[:INBOX_LIMIT]]
    context = {
        **admin.site.each_context(request),
        "title": "Approvals inbox",
        "items": items,
        "more": len(rows) > INBOX_LIMIT,
        "limit": INBOX_LIMIT,
        "overdue": sum(1 for item in items if item["overdue"]),
        "can_decide": may_decide(request),
        "now": now,
    }
    return TemplateResponse(request, "admin/workflows/approvals.html", context)


def _item(approval: Approval, now: Any, drafts: dict[str, str]) -> dict[str, Any]:
    run = approval.run
    return {
        "id": approval.pk,
        "title": approval.title,
        "step_id": approval.step_id,
        "workflow_id": approval.workflow_id,
        "desk_id": approval.desk_id,
        "run_id": run.pk,
        "run_url": reverse("admin:workflows_run_change", args=[quote(run.pk)]),
        "function_id": run.function_id,
        "run_status": status_badge(run.status),
        "since": when(approval.created_at),
        "timeout": when(approval.timeout_at) if approval.timeout_at else None,
        "overdue": approval.timeout_at is not None and approval.timeout_at <= now,
        "context": folded_json(approval.context),
        "draft": drafts.get(approval.pk, ""),
    }


def _decide(request: HttpRequest) -> HttpResponse:
    if not may_decide(request):
        raise PermissionDenied
    back = HttpResponseRedirect(reverse("admin:approvals"))
    approval_id = request.POST.get("approval_id", "")
    decision = request.POST.get("decision", "")
    text = request.POST.get("payload", "")
    approval = Approval.objects.filter(pk=approval_id).only("id", "title").first()
    if approval is None:
        messages.error(request, f"No approval {approval_id!r}. Nothing was changed.")
        return back
    try:
        payload = parse_editor_json(text, empty=None, max_chars=MAX_PAYLOAD_CHARS)
        decided = services.approval_decide(
            approval_id=approval.pk,
            decision=decision,
            payload=payload,
            by=principal_for_user(request.user).label(),
        )
    except (EditorError, RawrError) as exc:
        reason = f"{exc.code}: {exc.message}" if isinstance(exc, RawrError) else str(exc)
        if isinstance(exc, EditorError) or getattr(exc, "status", 0) == 400:
            drafts = request.session.get(DRAFTS_KEY, {})
            drafts[approval.pk] = text[:MAX_PAYLOAD_CHARS]
            request.session[DRAFTS_KEY] = drafts
        messages.error(request, f"“{approval.title}” was not decided: {reason}. Nothing changed.")
        return back
    verb = "Approved" if decided.decision == "approve" else "Rejected"
    log_change(request, decided, f"{verb} from the approvals inbox (run {decided.run_id})")
    messages.success(request, f"{verb} “{decided.title}”; run {decided.run_id} resumes.")
    return back


class ApprovalAdmin(admin.ModelAdmin):
    """Every approval, decided or not (read-only: decisions go through the inbox/API)."""

    list_display = ("title", "status_badge", "run_link", "desk", "created_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("=id", "=run__id", "=workflow_id", "=desk_id")
    ordering = ("-created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    fields = (
        "id",
        "title",
        "status",
        "run_link",
        "step_id",
        "workflow_id",
        "desk_id",
        "context_view",
        "created_at",
        "timeout_at",
        "decision",
        "payload_view",
        "decided_by",
        "decided_at",
    )
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, approval: Approval) -> Any:
        return status_badge(
            "waiting" if approval.status == ApprovalStatus.PENDING else approval.status
        )

    @admin.display(description="run")
    def run_link(self, approval: Approval) -> Any:
        url = reverse("admin:workflows_run_change", args=[quote(approval.run_id)])
        return format_html('<a href="{}">{}</a>', url, approval.run_id)

    @admin.display(description="desk")
    def desk(self, approval: Approval) -> str:
        return "/".join(part for part in (approval.workflow_id, approval.desk_id) if part) or "-"

    @admin.display(description="context")
    def context_view(self, approval: Approval) -> Any:
        return folded_json(approval.context)

    @admin.display(description="payload")
    def payload_view(self, approval: Approval) -> Any:
        return folded_json(approval.payload)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


admin.site.register(Approval, ApprovalAdmin)
admin.site.register_view(
    "approvals/",
    inbox,
    name="approvals",
    label="Approvals inbox",
    group="Runs",
    permission=may_view,
)
