"""Bulk cancel / retry / replay: on a selection or on everything a filter matches.

The flow staff see, whichever way they chose the runs (ticked rows through the admin's
action dropdown, or "Cancel all matching…" / Django's "select all N" on a filter): a
confirmation page with the exact count (a dry run: how many runs are chosen, how many are
in a state the action applies to), then one job that acts in batches of ``BATCH_SIZE``
runs, one transaction each, every run through ``workflows.services`` (which writes its
timeline event) plus one Django admin ``LogEntry`` per run acted on, with a progress page.

The set is frozen when the count is shown. A selection is its ids (posted back by the
confirmation form, at most ``MAX_ACTION_RUNS``): every one of them is reported, acted on
or refused with the reason its state does not allow the action. A filter is re-evaluated
with ``created_at <= frozen_at`` (relative times such as ``since=1h`` are taken from that
moment too); runs that stopped applying since the count are skipped. Both are walked in
``(created_at, id)`` order with a cursor, so runs created afterwards (a replay's new runs
among them) are never picked up, and a run is never visited twice. A filter can match up
to ``bulk_limit()`` runs: a job lives in the staff member's session and each poll of the
progress page does the next batch (no thread in the web process; closing the page pauses
the job, reopening it goes on). A poll holds a cache lock for its job, so two tabs never
run the same batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from rawr_site.contract.errors import RawrError
from workflows import services
from workflows.admin.audit import log_changes
from workflows.admin.run_list_filters import CHANGELIST_PARAMS, filter_runs
from workflows.models import ACTIVE_STATUSES, Run, RunStatus

#: Runs acted on per transaction (and per poll of the progress page).
BATCH_SIZE = 200
#: Most runs one selection may hold (the ticked rows of a page, or "show all").
MAX_ACTION_RUNS = 500
#: Default of ``settings.RAWR_CONSOLE_BULK_LIMIT``: most runs one filter job may touch.
DEFAULT_BULK_LIMIT = 100_000
#: Jobs kept per session (finished ones are dropped first).
MAX_JOBS = 20
#: Failure lines kept per job (the count is exact; the lines are examples).
MAX_ERROR_LINES = 50

SESSION_KEY = "rawr_bulk_jobs"


def bulk_limit() -> int:
    return int(getattr(settings, "RAWR_CONSOLE_BULK_LIMIT", DEFAULT_BULK_LIMIT))


# -- the actions ------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkAction:
    name: str
    #: Django permission (``workflows.cancel_run``).
    permission: str
    verb: str
    done_verb: str
    #: Runs the action applies to; the dry run counts these.
    applies: Q
    applies_text: str
    act: Callable[[str, str], Run]
    #: Why a chosen run the action does not apply to stays as it is (``applies`` is false).
    refusal: Callable[[Run], str]

    def allowed(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.permission)


def _cancel(run_id: str, by: str) -> Run:
    return services.run_cancel(run_id=run_id, by=by)


def _retry(run_id: str, by: str) -> Run:
    return services.run_retry(run_id=run_id, by=by)


def _replay(run_id: str, by: str) -> Run:
    return services.run_replay(run_id=run_id, by=by)


def _why_not_cancel(run: Run) -> str:
    if run.status in ACTIVE_STATUSES:
        return "already cancelling (a cancel was requested before)"
    return f"RUN_NOT_CANCELLABLE: it is {run.status}; only active runs can be cancelled"


def _why_not_retry(run: Run) -> str:
    return f"RUN_NOT_RETRYABLE: it is {run.status}; only failed runs can be retried"


def _why_not_replay(run: Run) -> str:  # replay applies to every run
    return f"it is {run.status}"


ACTIONS: dict[str, BulkAction] = {
    "cancel": BulkAction(
        name="cancel",
        permission="workflows.cancel_run",
        verb="Cancel",
        done_verb="Cancelled",
        applies=Q(status__in=ACTIVE_STATUSES, cancel_requested_at__isnull=True),
        applies_text="active (queued, running, sleeping or waiting) and not already cancelling",
        act=_cancel,
        refusal=_why_not_cancel,
    ),
    "retry": BulkAction(
        name="retry",
        permission="workflows.retry_run",
        verb="Retry",
        done_verb="Re-queued",
        applies=Q(status=RunStatus.FAILED),
        applies_text="failed",
        act=_retry,
        refusal=_why_not_retry,
    ),
    "replay": BulkAction(
        name="replay",
        permission="workflows.replay_run",
        verb="Replay",
        done_verb="Replayed",
        applies=Q(),
        applies_text="any run (each gets a new, linked run with the same input)",
        act=_replay,
        refusal=_why_not_replay,
    ),
}


def action_or_404(name: str) -> BulkAction:
    action = ACTIONS.get(name)
    if action is None:
        raise Http404(f"No bulk action {name!r}")
    return action


def allowed_actions(request: HttpRequest) -> list[BulkAction]:
    return [action for action in ACTIONS.values() if action.allowed(request)]


# -- which runs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The runs a job is about: a filter (query parameters) or a selection (ids)."""

    frozen_at: datetime
    params: dict[str, str] | None = None
    ids: tuple[str, ...] | None = None

    @property
    def is_selection(self) -> bool:
        return self.ids is not None

    def runs(self) -> tuple[QuerySet[Run], tuple[str, ...]]:
        """The frozen set and the filter errors (with errors the set is empty)."""
        if self.ids is not None:
            runs = Run.objects.filter(pk__in=self.ids)
            errors: tuple[str, ...] = ()
        else:
            filtered = filter_runs(Run.objects.all(), self.params or {}, now=self.frozen_at)
            runs, errors = filtered.runs, filtered.errors
        return runs.filter(created_at__lte=self.frozen_at), errors

    def to_json(self) -> dict[str, Any]:
        return {
            "frozenAt": self.frozen_at.isoformat(),
            "params": self.params,
            "ids": list(self.ids) if self.ids is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scope:
        frozen_at = parse_datetime(data["frozenAt"])
        if frozen_at is None:
            raise ValueError("bad frozenAt")
        ids = data.get("ids")
        return cls(frozen_at, data.get("params"), tuple(ids) if ids is not None else None)


def filter_params(query: Mapping[str, Any]) -> dict[str, str]:
    """The run-list filter of a query string (paging and ordering dropped)."""
    params: dict[str, str] = {}
    for name in query:
        if name in CHANGELIST_PARAMS or name.startswith("_"):
            continue
        value = query.getlist(name)[-1] if hasattr(query, "getlist") else query[name]
        params[name] = str(value)
    return params


def changelist_url(params: Mapping[str, str] | None = None) -> str:
    url = reverse("admin:workflows_run_changelist")
    return f"{url}?{urlencode(sorted(params.items()))}" if params else url


# -- the dry run ------------------------------------------------------------------------


@dataclass
class DryRun:
    action: BulkAction
    scope: Scope
    errors: tuple[str, ...]
    #: Runs the scope holds (capped at ``bulk_limit() + 1``).
    matching: int = 0
    #: Of those, runs the action applies to.
    applicable: int = 0
    sample: list[Run] = field(default_factory=list)
    #: A selection's runs the action does not apply to, with the reason (the first few).
    refused: list[tuple[Run, str]] = field(default_factory=list)

    @property
    def selected(self) -> int:
        return len(self.scope.ids or ())

    @property
    def missing(self) -> int:
        """Selected ids that are no run (any more): nothing to do for them."""
        return max(self.selected - self.matching, 0) if self.scope.is_selection else 0

    @property
    def over_limit(self) -> bool:
        return self.matching > bulk_limit()

    @property
    def untouched(self) -> int:
        return self.matching - self.applicable

    @property
    def can_confirm(self) -> bool:
        return not self.errors and not self.over_limit and self.applicable > 0

    @property
    def job_total(self) -> int:
        """Runs the job will visit: all of a selection (each is reported), a filter's applicable."""
        return self.matching if self.scope.is_selection else self.applicable


#: Rows of the confirmation page's preview.
SAMPLE_ROWS = 10
#: Fields the preview and the refusal reasons read.
SAMPLE_FIELDS = (
    "id",
    "function_id",
    "status",
    "created_at",
    "correlation_id",
    "cancel_requested_at",
)


def dry_run(action: BulkAction, scope: Scope) -> DryRun:
    """Count what the action would touch; bounded by ``bulk_limit()``, changes nothing."""
    runs, errors = scope.runs()
    result = DryRun(action, scope, errors)
    if errors:
        return result
    limit = bulk_limit()
    result.matching = runs.order_by()[: limit + 1].count()
    if result.over_limit:
        return result
    applicable = runs.filter(action.applies)
    result.applicable = applicable.order_by()[: limit + 1].count()
    result.sample = list(
        applicable.order_by("-created_at", "-pk").only(*SAMPLE_FIELDS)[:SAMPLE_ROWS]
    )
    if scope.is_selection:
        refused = runs.exclude(pk__in=applicable.values("pk"))
        result.refused = [
            (run, action.refusal(run))
            for run in refused.order_by("-created_at", "-pk").only(*SAMPLE_FIELDS)[:SAMPLE_ROWS]
        ]
    return result


# -- acting in batches ------------------------------------------------------------------


@dataclass
class Progress:
    """What a job has done so far; stored as JSON in the session between polls."""

    total: int
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    done_ids: list[str] = field(default_factory=list)
    cursor: tuple[str, str] | None = None
    finished: bool = False

    @property
    def processed(self) -> int:
        return self.ok + self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "ok": self.ok,
            "failed": self.failed,
            "errors": self.errors,
            "doneIds": self.done_ids,
            "cursor": list(self.cursor) if self.cursor else None,
            "finished": self.finished,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Progress:
        cursor = data.get("cursor")
        return cls(
            total=int(data["total"]),
            ok=int(data["ok"]),
            failed=int(data["failed"]),
            errors=list(data.get("errors") or []),
            done_ids=list(data.get("doneIds") or []),
            cursor=(cursor[0], cursor[1]) if cursor else None,
            finished=bool(data.get("finished")),
        )


def _by(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


def run_batch(request: HttpRequest, action: BulkAction, scope: Scope, progress: Progress) -> None:
    """Act on the next ``BATCH_SIZE`` runs of the frozen set, in one transaction.

    For a filter, runs that stopped applying since the count (finished meanwhile,
    cancelled by their parent) are skipped by the query, not counted as failures. A
    selection visits every chosen run: staff named those runs, so one whose state does not
    allow the action (now) is reported with the reason and left as it is. ``RawrError``s
    of the service are kept as lines; anything else rolls the batch back (its log entries
    too) and propagates, leaving the cursor where it was.
    """
    runs, errors = scope.runs()
    if errors:
        raise RawrError("BAD_REQUEST", 400, " ".join(errors))
    pending = runs if scope.is_selection else runs.filter(action.applies)
    if progress.cursor is not None:
        at = parse_datetime(progress.cursor[0])
        pending = pending.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=progress.cursor[1]))
    rows = list(pending.order_by("created_at", "pk").only(*SAMPLE_FIELDS)[:BATCH_SIZE])
    applies = {run.pk for run in rows}
    if scope.is_selection and rows:
        applies = set(
            runs.filter(action.applies, pk__in=applies).values_list("pk", flat=True).order_by()
        )
    by = _by(request)
    logged: dict[str, list[str]] = {}
    ok: list[str] = []
    failures: list[str] = []
    with transaction.atomic():
        for run in rows:
            run_id = run.pk
            if run_id not in applies:
                failures.append(f"{run_id}: {action.refusal(run)}")
                continue
            try:
                result = action.act(run_id, by)
            except RawrError as exc:
                failures.append(f"{run_id}: {exc.code} {exc.message}")
                continue
            if result.pk != run_id:
                message, shown = f"Replayed as {result.pk} (bulk)", f"{run_id} → {result.pk}"
            elif result.status == RunStatus.RUNNING and result.cancel_requested_at is not None:
                message = "Cancel requested; stops at its next step (bulk)"
                shown = f"{run_id} (stops at its next step)"
            else:
                message, shown = f"{action.done_verb} (bulk)", run_id
            logged.setdefault(message, []).append(run_id)
            ok.append(shown)
        for message, run_ids in logged.items():
            log_changes(request, Run.objects.filter(pk__in=run_ids).order_by("pk"), message)
    progress.ok += len(ok)
    progress.failed += len(failures)
    progress.errors = (progress.errors + failures)[:MAX_ERROR_LINES]
    if scope.is_selection:  # at most MAX_ACTION_RUNS: each is listed on the progress page
        progress.done_ids += ok
    if rows:
        progress.cursor = (rows[-1].created_at.isoformat(), rows[-1].pk)
    # A selection cannot grow: once every chosen run is visited, no empty batch is needed.
    progress.finished = len(rows) < BATCH_SIZE or (
        scope.is_selection and progress.processed >= progress.total
    )


# -- jobs in the session ----------------------------------------------------------------


def _jobs(session: SessionBase) -> dict[str, dict[str, Any]]:
    jobs = session.get(SESSION_KEY)
    return jobs if isinstance(jobs, dict) else {}


def job_create(
    request: HttpRequest, action: BulkAction, scope: Scope, total: int, *, back_url: str
) -> str:
    job_id = uuid.uuid4().hex[:16]
    jobs = _jobs(request.session)
    while len(jobs) >= MAX_JOBS:
        oldest = sorted(jobs, key=lambda key: (not jobs[key]["progress"]["finished"], key))[0]
        jobs.pop(oldest)
    jobs[job_id] = {
        "action": action.name,
        "scope": scope.to_json(),
        "progress": Progress(total=total).to_json(),
        "startedAt": timezone.now().isoformat(),
        "back": back_url,
    }
    request.session[SESSION_KEY] = jobs
    return job_id


def job_get(request: HttpRequest, job_id: str) -> dict[str, Any]:
    job = _jobs(request.session).get(job_id)
    if job is None:
        raise Http404("No such bulk job in this session (it may have expired).")
    return job


def job_state(job_id: str, job: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON the progress page polls."""
    progress = Progress.from_json(job["progress"])
    action = ACTIONS[job["action"]]
    total = max(progress.total, progress.processed)
    return {
        "id": job_id,
        "action": action.name,
        "doneVerb": action.done_verb,
        "total": total,
        "processed": progress.processed,
        "ok": progress.ok,
        "failed": progress.failed,
        "errors": progress.errors,
        "done": progress.done_ids,
        "finished": progress.finished,
        "percent": 100 if progress.finished or not total else int(100 * progress.processed / total),
    }


def job_step(request: HttpRequest, job_id: str) -> dict[str, Any]:
    """Do the job's next batch (or nothing if it is finished or another poll holds it)."""
    lock = f"rawr:bulk:{request.session.session_key}:{job_id}"
    if not cache.add(lock, 1, timeout=300):
        state = job_state(job_id, job_get(request, job_id))
        return {**state, "busy": True}
    try:
        # Another poll may have saved a newer cursor after this request read the session.
        fresh = request.session.__class__(request.session.session_key)
        job = _jobs(fresh).get(job_id)
        if job is None:
            raise Http404("No such bulk job in this session (it may have expired).")
        action = ACTIONS[job["action"]]
        if not action.allowed(request):
            raise PermissionDenied
        progress = Progress.from_json(job["progress"])
        if not progress.finished:
            run_batch(request, action, Scope.from_json(job["scope"]), progress)
            job["progress"] = progress.to_json()
            jobs = _jobs(fresh)
            jobs[job_id] = job
            fresh[SESSION_KEY] = jobs
            fresh.save()
        return job_state(job_id, job)
    finally:
        cache.delete(lock)


# -- views ------------------------------------------------------------------------------


def _check_permissions(model_admin: Any, request: HttpRequest, action: BulkAction) -> None:
    if not model_admin.has_view_or_change_permission(request) or not action.allowed(request):
        raise PermissionDenied


def _safe_back(url: str | None) -> str:
    """A run-list URL to go back to (never somewhere else: it comes from a form)."""
    if url and url.startswith(reverse("admin:workflows_run_changelist")):
        return url
    return changelist_url()


def selected_ids(values: Iterable[Any]) -> tuple[str, ...]:
    """Posted run ids, each once, in the order given."""
    return tuple(dict.fromkeys(str(value) for value in values if value))


def render_confirmation(
    model_admin: Any,
    request: HttpRequest,
    action: BulkAction,
    scope: Scope,
    *,
    back_url: str,
) -> TemplateResponse:
    """The dry run: what the action would do to the scope's runs, and the "Yes" form."""
    result = dry_run(action, scope)
    opts = model_admin.model._meta
    params = sorted((scope.params or {}).items())
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{action.verb} runs",
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "dry": result,
        "action": action,
        "scope": scope,
        "limit": bulk_limit(),
        "batch_size": BATCH_SIZE,
        "applied": params,
        "frozen_at": scope.frozen_at,
        "back_url": back_url,
        "confirm_url": reverse("admin:workflows_run_bulk", args=[action.name])
        + (f"?{urlencode(params)}" if params else ""),
        "sample": [
            (run, reverse("admin:workflows_run_change", args=[quote(run.pk)]))
            for run in result.sample
        ],
        "refused": [
            (run, reason, reverse("admin:workflows_run_change", args=[quote(run.pk)]))
            for run, reason in result.refused
        ],
    }
    return TemplateResponse(request, "admin/workflows/run/bulk_confirm.html", context)


def confirm_selection(
    model_admin: Any, request: HttpRequest, action: BulkAction, ids: Iterable[Any]
) -> HttpResponse | None:
    """Ticked rows of the run list: the same dry run, over exactly those ids.

    Answers the admin action's POST; ``None`` (back to the list with a message) when the
    selection is larger than ``MAX_ACTION_RUNS``.
    """
    _check_permissions(model_admin, request, action)
    chosen = selected_ids(ids)
    if len(chosen) > MAX_ACTION_RUNS:
        model_admin.message_user(
            request,
            f"Select at most {MAX_ACTION_RUNS} runs per action, or use "
            f"\u201c{action.verb} all matching\u201d on a filter. Nothing was changed.",
            level=messages.ERROR,
        )
        return None
    scope = Scope(frozen_at=timezone.now(), ids=chosen)
    back = _safe_back(request.get_full_path())
    return render_confirmation(model_admin, request, action, scope, back_url=back)


def confirm_view(model_admin: Any, request: HttpRequest, name: str) -> HttpResponse:
    """GET: the dry run for a filter. POST ``confirm``: start the job (filter or selection)."""
    action = action_or_404(name)
    _check_permissions(model_admin, request, action)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        return _confirmed(model_admin, request, action)
    params = filter_params(request.GET)
    scope = Scope(frozen_at=timezone.now(), params=params)
    return render_confirmation(model_admin, request, action, scope, back_url=changelist_url(params))


def _confirmed(model_admin: Any, request: HttpRequest, action: BulkAction) -> HttpResponse:
    frozen_at = parse_datetime(request.POST.get("frozen_at", "") or "")
    back = _safe_back(request.POST.get("back"))
    selection = request.POST.get("selection") == "yes"
    ids = selected_ids(request.POST.getlist("ids")) if selection else None
    if (
        frozen_at is None
        or frozen_at > timezone.now()
        or (ids is not None and not 0 < len(ids) <= MAX_ACTION_RUNS)
    ):
        model_admin.message_user(
            request, "The confirmation was incomplete; nothing was changed.", messages.ERROR
        )
        return HttpResponseRedirect(back)
    if ids is not None:
        scope = Scope(frozen_at=frozen_at, ids=ids)
    else:
        scope = Scope(frozen_at=frozen_at, params=filter_params(request.GET))
    result = dry_run(action, scope)
    if not result.can_confirm:
        for error in result.errors:
            model_admin.message_user(request, error, messages.ERROR)
        if result.over_limit:
            model_admin.message_user(
                request,
                f"More than {bulk_limit():,} runs match; narrow the filter. Nothing was changed.",
                messages.ERROR,
            )
        elif not result.errors:
            model_admin.message_user(
                request, f"No run to {action.verb.lower()}: nothing changed.", messages.WARNING
            )
        return HttpResponseRedirect(back)
    job_id = job_create(request, action, scope, result.job_total, back_url=back)
    return HttpResponseRedirect(reverse("admin:workflows_run_bulk_job", args=[job_id]))


def _check_any_permission(model_admin: Any, request: HttpRequest) -> None:
    """403 before anything else for staff who may not operate runs at all."""
    if not model_admin.has_view_or_change_permission(request) or not allowed_actions(request):
        raise PermissionDenied


def job_view(model_admin: Any, request: HttpRequest, job_id: str) -> HttpResponse:
    _check_any_permission(model_admin, request)
    job = job_get(request, job_id)
    action = ACTIONS[job["action"]]
    _check_permissions(model_admin, request, action)
    scope = Scope.from_json(job["scope"])
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{action.verb} runs: progress",
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "action": action,
        "state": job_state(job_id, job),
        "scope": scope,
        "applied": sorted((scope.params or {}).items()),
        "frozen_at": scope.frozen_at,
        "step_url": reverse("admin:workflows_run_bulk_step", args=[job_id]),
        "back_url": _safe_back(job.get("back") or changelist_url(scope.params)),
    }
    return TemplateResponse(request, "admin/workflows/run/bulk_progress.html", context)


def step_view(model_admin: Any, request: HttpRequest, job_id: str) -> HttpResponse:
    """POST: the next batch. JSON for the page's script; a redirect for the no-script form."""
    _check_any_permission(model_admin, request)
    if request.method != "POST":
        return JsonResponse({"error": "POST to run the next batch"}, status=405)
    action = ACTIONS[job_get(request, job_id)["action"]]
    _check_permissions(model_admin, request, action)
    try:
        state = job_step(request, job_id)
    except RawrError as exc:
        state = {"error": exc.message}
    if request.POST.get("html"):
        if "error" in state:
            model_admin.message_user(request, state["error"], messages.ERROR)
        return HttpResponseRedirect(reverse("admin:workflows_run_bulk_job", args=[job_id]))
    return JsonResponse(state, status=400 if "error" in state else 200)
