"""The run page: what a run did, what it waits for, and what staff may do with it.

A custom change view (``admin/workflows/run/run_page.html``) instead of the stock fieldset
dump: a header with the status and what the run waits for, the actions its state allows,
a step waterfall, the step table, the error as a readable traceback, the timeline paged by
``seq``, links to related runs. Each action is a POST under the admin's own URLs
(``<id>/cancel/`` ...), needs its model permission (403 otherwise), goes through
``workflows.services`` and writes Django's admin log.

Functions may add a panel to the page (coordination draws its desk graph) with
``register_run_panel``: ``workflows`` knows no app that registers one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from rawr_site.contract.errors import RawrError
from workflows import services
from workflows.admin import run_page_parts as parts
from workflows.admin.audit import log_change
from workflows.admin.display import duration, exact_time, status_badge
from workflows.admin.editors import MAX_EDITOR_CHARS, EditorError, parse_editor_json
from workflows.limits import RUN_JSON, STEP_JSON, first_safely, load_safely, preview
from workflows.models import ACTIVE_STATUSES, Run, RunStatus, Step

RUN_PAGE_TEMPLATE = "admin/workflows/run/run_page.html"
STEPS_TEMPLATE = "admin/workflows/run/_steps.html"
#: Session key holding a refused replay input, so the editor shows it again.
REPLAY_DRAFT_KEY = "rawr_replay_draft"
#: Largest JSON body accepted from the page's editors.


# -- panels: extra sections for runs of one function ------------------------------------------
class RunPanel(Protocol):
    """A section a function adds to its runs' pages (e.g. coordination's desk graph).

    ``render`` returns the section's HTML; ``live`` returns JSON merged into the page's live
    endpoint (under ``panel``) while the run is active. Both get the run already loaded and
    must use a bounded number of queries.
    """

    title: str
    #: Static files (paths under ``static/``) the page loads, in order, before its own script.
    scripts: tuple[str, ...]

    def render(self, run: Run, request: HttpRequest) -> SafeString: ...

    def live(self, run: Run) -> dict[str, Any]: ...


_panels: dict[str, RunPanel] = {}


def register_run_panel(function_id: str, panel: RunPanel) -> RunPanel:
    """Show ``panel`` on the page of every run of ``function_id``; registering twice raises."""
    existing = _panels.get(function_id)
    if existing is not None and existing is not panel:
        raise ValueError(f"a run panel for {function_id!r} is already registered")
    _panels[function_id] = panel
    return panel


def run_panel(function_id: str) -> RunPanel | None:
    return _panels.get(function_id)


@contextmanager
def temporarily_registered_panel(function_id: str, panel: RunPanel) -> Iterator[RunPanel]:
    """Register a run panel for the duration of a test."""
    previous = _panels.pop(function_id, None)
    _panels[function_id] = panel
    try:
        yield panel
    finally:
        _panels.pop(function_id, None)
        if previous is not None:
            _panels[function_id] = previous


def refusal(exc: RawrError) -> str:
    """A refused action as people read it: code, message, and each issue with its path."""
    text = f"{exc.code}: {exc.message}"
    data = exc.data if isinstance(exc.data, dict) else {}
    issues = data.get("issues") if isinstance(data.get("issues"), list) else []
    lines = []
    for issue in issues[:10]:
        if not isinstance(issue, dict):
            continue
        where = ".".join(str(part) for part in issue.get("path") or []) or "(input)"
        lines.append(f"{where}: {issue.get('message', '')}")
    return f"{text} — {'; '.join(lines)}" if lines else text


# -- the admin half ------------------------------------------------------------------------------
Handler = Callable[[HttpRequest, Run], HttpResponse]


def _replay_text(value: Any) -> str:
    """The replay editor's starting text: the run's input, or a cut copy of it when it is
    too big to edit (replaying without an edit still sends the stored input)."""
    text = parts.json_text(value if value is not None else {})
    if len(text) <= MAX_EDITOR_CHARS:
        return text
    return parts.json_text(preview(value))


class RunPageMixin:
    """The change-view half of ``RunAdmin`` (the list is ``RunListMixin``)."""

    change_form_template = RUN_PAGE_TEMPLATE

    # ModelAdmin's own attributes, reached through the composed RunAdmin.
    admin_site: admin.AdminSite
    opts: Any
    model: type[Run]

    # -- permissions (the list's ``has_*_permission`` answer the same) -------------------------
    def _may(self, request: HttpRequest, action: str) -> bool:
        codename = {
            "cancel": "workflows.cancel_run",
            "retry": "workflows.retry_run",
            "replay": "workflows.replay_run",
            "decide": "workflows.decide_approval",
        }[action]
        return request.user.has_perm(codename)

    # -- URLs -----------------------------------------------------------------------------------
    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        info = self.opts.app_label, self.opts.model_name
        routes = [
            ("cancel", require_POST(self._cancel_view)),
            ("retry", require_POST(self._retry_view)),
            ("replay", require_POST(self._replay_view)),
            ("decide", require_POST(self._decide_view)),
            ("live", require_GET(self._live_view)),
            ("raw", require_GET(self._raw_view)),
        ]
        own = [
            path(
                f"<path:object_id>/{name}/",
                wrap(self._with_run(view)),
                name="{}_{}_{}".format(*info, name),
            )
            for name, view in routes
        ]
        # After the list's own routes ("_bulk/<name>/" would match "<id>/cancel/"), before
        # ModelAdmin's, which start with the changelist and end with a "<id>/" catch-all.
        urls = super().get_urls()  # type: ignore[misc]
        changelist = "{}_{}_changelist".format(*info)
        at = next((i for i, url in enumerate(urls) if url.name == changelist), 0)
        return [*urls[:at], *own, *urls[at:]]

    def _with_run(self, view: Handler) -> Callable[..., HttpResponse]:
        def wrapped(request: HttpRequest, object_id: str) -> HttpResponse:
            # Stored values are read safely: no stored value can make this page fail.
            run = first_safely(Run.objects.filter(pk=unquote(object_id)), *RUN_JSON)
            if run is None:
                raise Http404("No such run")
            if not self.has_view_or_change_permission(request, run):  # type: ignore[attr-defined]
                raise PermissionDenied
            return view(request, run)

        wrapped.__name__ = getattr(view, "__name__", "run_view")
        return wrapped

    def _page_url(self, run_id: str) -> str:
        return reverse(
            "admin:workflows_run_change", args=[quote(run_id)], current_app=self.admin_site.name
        )

    def _back(self, run: Run) -> HttpResponseRedirect:
        return HttpResponseRedirect(self._page_url(run.pk))

    @staticmethod
    def _by(request: HttpRequest) -> str:
        return f"user:{request.user.get_username()}"

    # -- actions --------------------------------------------------------------------------------
    def _cancel_view(self, request: HttpRequest, run: Run) -> HttpResponse:
        if not self._may(request, "cancel"):
            raise PermissionDenied
        try:
            result = services.run_cancel(run_id=run.pk, by=self._by(request))
        except RawrError as exc:
            messages.error(request, f"Not cancelled: {refusal(exc)}")
            return self._back(run)
        if result.status == RunStatus.RUNNING:
            text = "Cancel requested: the run stops at its next step boundary."
        else:
            text = "Run cancelled."
        log_change(request, result, "Cancelled from the run page")
        messages.success(request, text)
        return self._back(run)

    def _retry_view(self, request: HttpRequest, run: Run) -> HttpResponse:
        if not self._may(request, "retry"):
            raise PermissionDenied
        try:
            result = services.run_retry(run_id=run.pk, by=self._by(request))
        except RawrError as exc:
            messages.error(request, f"Not retried: {refusal(exc)}")
            return self._back(run)
        log_change(request, result, "Retried from its failed step from the run page")
        messages.success(request, "Run re-queued: it resumes from its failed step.")
        return self._back(run)

    def _replay_view(self, request: HttpRequest, run: Run) -> HttpResponse:
        if not self._may(request, "replay"):
            raise PermissionDenied
        edited = "input" in request.POST
        text = request.POST.get("input", "")
        try:
            new_input = parse_editor_json(text, empty={}) if edited else None
            if edited and new_input is None:
                # ``run_replay(input=None)`` means "the same input": say so rather than guess.
                raise EditorError("null is not an input (to replay the same input, use Replay)")
            replay = services.run_replay(run_id=run.pk, by=self._by(request), input=new_input)
        except (EditorError, RawrError) as exc:
            reason = refusal(exc) if isinstance(exc, RawrError) else str(exc)
            if edited:
                request.session[REPLAY_DRAFT_KEY] = {
                    "runId": run.pk,
                    "text": text[:MAX_EDITOR_CHARS],
                }
            messages.error(request, f"Not replayed: {reason}. Nothing was queued.")
            return self._back(run)
        how = "with edited input" if edited else "with the same input"
        log_change(request, run, f"Replayed {how} as run {replay.pk} from the run page")
        messages.success(request, f"Replay of {run.pk} ({how}) started as this run.")
        return self._back(replay)

    def _decide_view(self, request: HttpRequest, run: Run) -> HttpResponse:
        if not self._may(request, "decide"):
            raise PermissionDenied
        decision = request.POST.get("decision", "")
        approval_id = request.POST.get("approval_id", "")
        if decision not in ("approve", "reject") or not approval_id:
            messages.error(request, "Not decided: choose approve or reject.")
            return self._back(run)
        pending = parts.pending_approval(run)
        if pending is None or pending.pk != approval_id:
            messages.error(
                request, "Not decided: APPROVAL_NOT_PENDING: this run has no such pending approval."
            )
            return self._back(run)
        try:
            payload = parse_editor_json(request.POST.get("payload"), empty=None)
            approval = services.approval_decide(
                approval_id=approval_id, decision=decision, payload=payload, by=self._by(request)
            )
        except (EditorError, RawrError) as exc:
            reason = refusal(exc) if isinstance(exc, RawrError) else str(exc)
            messages.error(request, f"Not decided: {reason}")
            return self._back(run)
        verb = "Approved" if decision == "approve" else "Rejected"
        log_change(
            request, run, f"{verb} approval {approval.pk} ({approval.step_id}) from the run page"
        )
        messages.success(request, f"{verb} “{approval.title}”.")
        return self._back(run)

    # -- live JSON and raw values ------------------------------------------------------------------
    def _live_view(self, request: HttpRequest, run: Run) -> HttpResponse:
        try:
            after = max(0, int(request.GET.get("after", "0")))
        except ValueError:
            after = 0
        approval = parts.pending_approval(run) if run.status in ACTIVE_STATUSES else None
        waiting = parts.waiting_for(run, approval)
        panel = run_panel(run.function_id)
        events, more = parts.timeline_after(run, after)
        steps_html = (
            render_to_string(STEPS_TEMPLATE, self.steps_context(run), request) if events else None
        )
        body = {
            "runId": run.pk,
            "status": run.status,
            "statusBadge": str(status_badge(run.status)),
            "finished": run.is_finished,
            "attempt": run.attempt,
            "finishedAt": exact_time(run.finished_at) if run.finished_at else None,
            "duration": parts.run_duration(run),
            "waitingFor": waiting.as_json() if waiting else None,
            "lastSeq": max(run.next_seq - 1, 0),
            "timeline": events,
            "moreTimeline": more,
            "stepsHtml": steps_html,
            "startedAt": exact_time(run.started_at) if run.started_at else None,
            "panel": panel.live(run) if panel is not None else None,
        }
        return JsonResponse(body, headers={"Cache-Control": "no-store"})

    def _raw_view(self, request: HttpRequest, run: Run) -> HttpResponse:
        """All of a stored value the page cut: ``?part=input|output|error`` or ``?step=<id>``."""
        step_id = request.GET.get("step")
        if step_id is not None:
            step = first_safely(
                Step.objects.filter(run=run, step_id=step_id).only("output", "error"), *STEP_JSON
            )
            if step is None:
                raise Http404("No such step")
            value = {"output": step.output, "error": step.error}
        else:
            part = request.GET.get("part", "")
            if part not in ("input", "output", "error"):
                raise Http404("No such part")
            value = getattr(run, part)
        return JsonResponse(
            value,
            safe=False,
            json_dumps_params={"indent": 2, "ensure_ascii": False, "default": repr},
        )

    # -- the page ---------------------------------------------------------------------------------
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied  # operational rows change only through the actions
        run = first_safely(
            self.get_queryset(request).filter(pk=unquote(object_id)),  # type: ignore[attr-defined]
            *RUN_JSON,
        )
        if run is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_view_or_change_permission(request, run):  # type: ignore[attr-defined]
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            **self.run_page_context(request, run),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_form_template, context)

    def steps_context(self, run: Run) -> dict[str, Any]:
        """The steps card: waterfall and table (two queries, whatever the run's size)."""
        steps = load_safely(
            Step.objects.filter(run=run)
            .order_by("position")
            .only(
                "run_id",
                "step_id",
                "position",
                "kind",
                "status",
                "output",
                "error",
                "attempts",
                "started_at",
                "finished_at",
                "child_run",
                "wait_event",
            ),
            *STEP_JSON,
            limit=parts.MAX_STEPS + 1,
        )
        more_steps = len(steps) > parts.MAX_STEPS
        steps = steps[: parts.MAX_STEPS]
        raw_url = reverse("admin:workflows_run_raw", args=[quote(run.pk)])
        step_rows = [
            {
                "step": step,
                "duration": duration(step.finished_at - step.started_at)
                if step.started_at and step.finished_at
                else "-",
                "output": parts.folded(
                    step.output, f"{raw_url}?{urlencode({'step': step.step_id})}"
                ),
                "error": parts.error_summary(step.error),
                "error_full": parts.folded(step.error) if step.error else "",
            }
            for step in steps
        ]
        return {
            "waterfall": parts.waterfall(run, steps),
            "step_rows": step_rows,
            "more_steps": more_steps,
            "max_steps": parts.MAX_STEPS,
        }

    def run_page_context(self, request: HttpRequest, run: Run) -> dict[str, Any]:
        now = timezone.now()
        approval = parts.pending_approval(run) if run.status in ACTIVE_STATUSES else None
        raw_url = reverse("admin:workflows_run_raw", args=[quote(run.pk)])
        children, more_children = parts.linked(Run.objects.filter(parent_run=run))
        replays, more_replays = parts.linked(Run.objects.filter(replay_of=run))
        draft = request.session.pop(REPLAY_DRAFT_KEY, None) if hasattr(request, "session") else None
        replay_text = (
            draft["text"]
            if isinstance(draft, dict) and draft.get("runId") == run.pk
            else _replay_text(run.input)
        )
        panel = run_panel(run.function_id)
        schema = parts.input_schema(run.function_id)
        perms = {
            "cancel": self._may(request, "cancel")
            and run.status in ACTIVE_STATUSES
            and run.cancel_requested_at is None,
            "retry": self._may(request, "retry") and run.status == RunStatus.FAILED,
            "replay": self._may(request, "replay"),
            "decide": self._may(request, "decide") and approval is not None,
        }
        return {
            "title": f"Run {run.pk}",
            "subtitle": run.pk,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "original": run,
            "run": run,
            "has_view_permission": True,
            # The page needs the screen's width; the run list is one click away.
            "is_nav_sidebar_enabled": False,
            "status_badge": status_badge(run.status),
            "duration": parts.run_duration(run, now),
            "waiting": parts.waiting_for(run, approval),
            "approval": approval,
            "allowed": perms,
            "any_action": any(perms.values()),
            "error": parts.error_view(run.error),
            "input_html": parts.folded(run.input, f"{raw_url}?part=input"),
            "output_html": parts.folded(run.output, f"{raw_url}?part=output"),
            **self.steps_context(run),
            "timeline": parts.timeline_page(run, request.GET.get("tl")),
            "children": children,
            "more_children": more_children,
            "replays": replays,
            "more_replays": more_replays,
            "correlation_url": (
                reverse("admin:workflows_run_changelist")
                + "?"
                + urlencode({"q": run.correlation_id})
                if run.correlation_id
                else ""
            ),
            "replay_text": replay_text,
            "replay_open": draft is not None,
            "input_schema": schema,
            "input_schema_text": parts.json_text(schema) if schema else "",
            "panel": panel,
            "panel_html": panel.render(run, request) if panel is not None else "",
            "live_url": reverse("admin:workflows_run_live", args=[quote(run.pk)]),
            "action_urls": {
                name: reverse(f"admin:workflows_run_{name}", args=[quote(run.pk)])
                for name in ("cancel", "retry", "replay", "decide")
            },
            "history_url": reverse("admin:workflows_run_history", args=[quote(run.pk)]),
            "active": run.status in ACTIVE_STATUSES,
        }
