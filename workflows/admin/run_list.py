"""The run list: columns, filters, index-backed search and the bulk actions.

Nothing here writes a run directly: the actions go through ``workflows.admin.bulk`` to
``workflows.services``, exactly like the runs API, and each needs its model permission
(``workflows.cancel_run`` ...). The changelist is built for millions of rows: no full
``COUNT(*)`` (an estimate past 10,000, shown as "about"), no facet counts, no
``SELECT DISTINCT`` for filter choices, no sorting by unindexed columns, searches and
filters that hit an index (``run_list_filters``). Apps add a "what is this run about"
column and filter with ``register_run_subject`` (coordination: the workflow id).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ERROR_FLAG, ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from workflows import _registry
from workflows.admin import bulk, display
from workflows.admin.bulk import MAX_ACTION_RUNS
from workflows.admin.paging import EstimatedCountPaginator
from workflows.admin.run_list_filters import (
    BUILTIN_FILTERS,
    CHANGELIST_PARAMS,
    QUICK_SINCE,
    SEARCH_PARAM,
    BadFilter,
    apply_subject,
)
from workflows.admin.run_list_subjects import (
    RunSubject,
    register_run_subject,
    run_subjects,
    temporarily_registered_subject,
)
from workflows.limits import safe_json
from workflows.models import Run, RunStatus

__all__ = [
    "MAX_ACTION_RUNS",
    "RunListMixin",
    "RunSubject",
    "register_run_subject",
    "run_subjects",
    "temporarily_registered_subject",
]

#: Characters of a run id shown in the list (the full id is copied and linked).
SHORT_ID_CHARS = 12
#: Characters of a correlation id shown in the list (the full one is in the title).
SHORT_CORRELATION_CHARS = 14

COPY_ICON = mark_safe(
    '<svg viewBox="0 0 16 16" width="13" height="13" aria-hidden="true" focusable="false">'
    '<rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" '
    'stroke-width="1.5"/><path d="M3 11V3a1 1 0 0 1 1-1h7" fill="none" '
    'stroke="currentColor" stroke-width="1.5"/></svg>'
)


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}?{urlencode(sorted(params.items()))}" if params else url


def _report(request: HttpRequest, error: BadFilter) -> None:
    """One message per bad value, however often the changelist evaluates its filters."""
    shown: set[str] = getattr(request, "_rawr_filter_errors", set())
    if str(error) not in shown:
        shown.add(str(error))
        request._rawr_filter_errors = shown  # type: ignore[attr-defined]
        messages.error(request, f"{error} No runs are listed until it is fixed.")


# -- filters ----------------------------------------------------------------------------


class ParamFilter(admin.ListFilter):
    """A sidebar filter over one or more of the run list's query parameters.

    The values are applied by ``run_list_filters`` (the bulk actions use the same code);
    a bad value lists nothing and says why, instead of Django's "?e=1" page.
    """

    parameters: tuple[str, ...] = ()
    #: ``(value, label)`` links for the first parameter; empty for input-only filters.
    links: tuple[tuple[str, str], ...] = ()
    #: ``(parameter, label, placeholder)`` text inputs.
    inputs: tuple[tuple[str, str, str], ...] = ()
    template = "admin/workflows/run/filter.html"

    def __init__(self, request: HttpRequest, params: dict, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        self.values: dict[str, str] = {}
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                self.values[name] = str(value[-1] if isinstance(value, list) else value)
        self.hidden: list[tuple[str, str]] = []

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def apply(self, name: str, queryset: QuerySet[Run], value: str) -> QuerySet[Run]:
        return BUILTIN_FILTERS[name](queryset, value, timezone.now())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> QuerySet[Run]:
        for name, value in self.values.items():
            if not value:
                continue
            try:
                queryset = self.apply(name, queryset, value)
            except BadFilter as error:
                _report(request, error)
                return queryset.none()
        return queryset

    def choices(self, changelist: ChangeList) -> list[dict[str, Any]]:
        self.hidden = [
            (name, value)
            for name, value in changelist.params.items()
            if name not in self.parameters and name not in ("p", ERROR_FLAG)
        ]
        if not self.links:
            return []
        first = self.parameters[0]
        current = self.values.get(first)
        choices = [
            {
                "selected": not current,
                "query_string": changelist.get_query_string(remove=list(self.parameters)),
                "display": "All",
            }
        ]
        for value, label in self.links:
            choices.append(
                {
                    "selected": current == value,
                    "query_string": changelist.get_query_string(
                        {first: value}, remove=[p for p in self.parameters if p != first]
                    ),
                    "display": label,
                }
            )
        return choices

    def input_fields(self) -> list[dict[str, str]]:
        return [
            {"name": name, "label": label, "placeholder": hint, "value": self.values.get(name, "")}
            for name, label, hint in self.inputs
        ]


class StatusFilter(ParamFilter):
    title = "status"
    parameters = ("status",)
    links = tuple((value, str(label)) for value, label in RunStatus.choices)


class CreatedFilter(ParamFilter):
    """Time range on ``created_at``: quick choices, or ISO times for since / until."""

    title = "created"
    parameters = ("since", "until")
    links = tuple((key, label) for key, (label, _delta) in QUICK_SINCE.items())
    inputs = (
        ("since", "From", "ISO time, or 1h / 24h / 7d"),
        ("until", "Until", "ISO time"),
    )


class FunctionFilter(ParamFilter):
    """Choices from the function registry, not ``SELECT DISTINCT`` over every run."""

    title = "function"
    parameters = ("function_id",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.links = tuple((f.id, f.id) for f in _registry.all_functions())


class CapabilityFilter(ParamFilter):
    title = "capability"
    parameters = ("capability",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        capabilities = {f.capability for f in _registry.all_functions() if f.capability}
        self.links = tuple((c, c) for c in sorted(capabilities))


class HasErrorFilter(ParamFilter):
    title = "error"
    parameters = ("has_error",)
    links = (("yes", "Has an error"), ("no", "No error"))


class StuckFilter(ParamFilter):
    title = "lease"
    parameters = ("stuck",)
    links = (("yes", "Stuck (lease expired)"),)


def subject_filter(subject: RunSubject) -> type[ParamFilter]:
    """A text-input filter for a registered run subject (``workflow_id``)."""

    def apply(self: ParamFilter, name: str, queryset: QuerySet[Run], value: str) -> QuerySet[Run]:
        return apply_subject(subject, queryset, value)

    return type(
        f"{subject.parameter.title().replace('_', '')}Filter",
        (ParamFilter,),
        {
            "title": subject.title,
            "parameters": (subject.parameter,),
            "inputs": ((subject.parameter, subject.title.capitalize(), "exact id"),),
            "apply": apply,
        },
    )


# -- columns ----------------------------------------------------------------------------


def subject_column(subject: RunSubject) -> Any:
    def column(run: Run) -> SafeString | str:
        value = subject.display(run)
        if not value:
            return ""
        return format_html(
            '<a href="?{}" title="Only runs of {} {}">{}</a>',
            urlencode({subject.parameter: value}),
            subject.title,
            value,
            value,
        )

    column.short_description = subject.title  # type: ignore[attr-defined]
    column.__name__ = f"subject_{subject.parameter}"
    return column


class RunChangeList(ChangeList):
    """Says "about 1,000,000 runs" where the paginator estimated, never a fake exact total."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Run]:
        queryset = super().get_queryset(request, exclude_parameters)
        # The list never shows outputs or errors; they can be megabytes per row. The input
        # (subject columns read it) is read safely: no stored value can break the list.
        return queryset.defer("input", "output", "error").annotate(
            input_safe_json=safe_json("input")
        )

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = list(self.result_list)
        for row in rows:
            row.input = row.input_safe_json
        self.result_list = rows

    @property
    def count_is_estimate(self) -> bool:
        return self.result_count > EstimatedCountPaginator.exact_limit

    @property
    def count_label(self) -> str:
        count = self.result_count
        if self.count_is_estimate:
            digits = len(str(count)) - 2
            return f"about {round(count, -digits):,} runs"
        return f"{count:,} run" + ("" if count == 1 else "s")


class RunListMixin:
    """The changelist half of ``RunAdmin`` (the run page is ``RunPageMixin``)."""

    list_display_links = None
    #: Sorting is by creation time only (the index every filter pairs with).
    sortable_by: tuple[str, ...] = ()
    search_fields = ("id",)  # shows the search box; ``get_search_results`` does the work
    search_help_text = "Run id (or its beginning), exact correlation id or exact idempotency key."
    actions = ("cancel_runs", "retry_runs", "replay_runs")

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        # A subject column is blank for other functions: left out when the list is
        # filtered to one of those.
        function_id = request.GET.get("function_id")
        subjects = [s for s in run_subjects() if not function_id or s.function_id == function_id]
        return [
            "run_id",
            "function",
            *(subject_column(subject) for subject in subjects),
            "status_badge",
            "started",
            "duration",
            "attempts",
            "correlation",
        ]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [
            StatusFilter,
            CreatedFilter,
            FunctionFilter,
            CapabilityFilter,
            *(subject_filter(subject) for subject in run_subjects()),
            HasErrorFilter,
            StuckFilter,
        ]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RunChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Run], search_term: str
    ) -> tuple[QuerySet[Run], bool]:
        from workflows.admin.run_list_filters import search

        try:
            return search(queryset, search_term), False
        except BadFilter as error:
            _report(request, error)
            return queryset.none(), False

    # -- columns --------------------------------------------------------------------------
    @admin.display(description="run id")
    def run_id(self, run: Run) -> SafeString:
        url = reverse("admin:workflows_run_change", args=[quote(run.pk)])
        short = run.pk if len(run.pk) <= SHORT_ID_CHARS else run.pk[:SHORT_ID_CHARS] + "…"
        return format_html(
            '<span class="rawr-runid"><a href="{}" title="{}"><span aria-hidden="true">{}'
            '</span><span class="rawr-sr">{}</span></a><button type="button" '
            'class="rawr-copy" data-copy="{}" title="Copy the full run id" '
            'aria-label="Copy run id">{}</button></span>',
            url,
            run.pk,
            short,
            run.pk,
            run.pk,
            COPY_ICON,
        )

    @admin.display(description="function")
    def function(self, run: Run) -> str:
        return run.function_id

    @admin.display(description="status")
    def status_badge(self, run: Run) -> SafeString:
        return display.status_badge(run.status)

    @admin.display(description="started")
    def started(self, run: Run) -> SafeString:
        if run.started_at is None:
            return format_html(
                '<span class="rawr-none" title="created {}">not started</span>',
                display.exact_time(run.created_at),
            )
        return display.when(run.started_at)

    @admin.display(description="duration")
    def duration(self, run: Run) -> str:
        return display.span(run.started_at, run.finished_at)

    @admin.display(description="attempts")
    def attempts(self, run: Run) -> int:
        return run.attempt

    @admin.display(description="correlation id")
    def correlation(self, run: Run) -> SafeString | str:
        value = run.correlation_id or ""
        if not value:
            return ""
        limit = SHORT_CORRELATION_CHARS
        short = value if len(value) <= limit else value[:limit] + "…"
        return format_html(
            '<a class="rawr-cid" href="?{}" title="{}">{}</a>',
            urlencode({"q": value}),
            value,
            short,
        )

    # -- the page -------------------------------------------------------------------------
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET":
            redirect = self._friendly_params(request)
            if redirect is not None:
                return redirect
        params = bulk.filter_params(request.GET)
        bulk_links = [
            (action, _with_query(reverse("admin:workflows_run_bulk", args=[action.name]), params))
            for action in bulk.allowed_actions(request)
        ]
        context = {"bulk_links": bulk_links, **(extra_context or {})}
        return super().changelist_view(request, context)  # type: ignore[misc]

    def _friendly_params(self, request: HttpRequest) -> HttpResponse | None:
        """Unknown parameters and Django's ``?e=1`` become a message, not an error page."""
        if ERROR_FLAG in request.GET:
            messages.warning(
                request,
                "The list could not be shown with those parameters (a page past the end?); "
                "here is its first page.",
            )
            kept = {k: v for k, v in request.GET.items() if k not in (ERROR_FLAG, "p")}
            return HttpResponseRedirect(_with_query(request.path, kept))
        known = (
            set(BUILTIN_FILTERS)
            | CHANGELIST_PARAMS
            | {SEARCH_PARAM, "_changelist_filters"}
            | {subject.parameter for subject in run_subjects()}
        )
        unknown = [name for name in request.GET if name not in known]
        if not unknown:
            return None
        filters = sorted(known - CHANGELIST_PARAMS - {"_changelist_filters"})
        messages.warning(
            request,
            f"Ignored unknown filter(s): {', '.join(sorted(unknown))}. "
            f"The run list filters by {', '.join(filters)}.",
        )
        kept = {k: v for k, v in request.GET.items() if k in known}
        return HttpResponseRedirect(_with_query(request.path, kept))

    # -- actions: confirmation, then through workflows.services ---------------------------
    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("_bulk/<str:name>/", wrap(self.bulk_confirm_view), name="workflows_run_bulk"),
            path(
                "_bulk/jobs/<str:job_id>/",
                wrap(self.bulk_job_view),
                name="workflows_run_bulk_job",
            ),
            path(
                "_bulk/jobs/<str:job_id>/step/",
                wrap(self.bulk_step_view),
                name="workflows_run_bulk_step",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def bulk_confirm_view(self, request: HttpRequest, name: str) -> HttpResponse:
        return bulk.confirm_view(self, request, name)

    def bulk_job_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        return bulk.job_view(self, request, job_id)

    def bulk_step_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        return bulk.step_view(self, request, job_id)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("workflows.cancel_run")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("workflows.retry_run")

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("workflows.replay_run")

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> HttpResponse | None:
        return self._act_on_selected(request, "cancel")

    @admin.action(description="Retry selected failed runs", permissions=["retry"])
    def retry_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> HttpResponse | None:
        return self._act_on_selected(request, "retry")

    @admin.action(description="Replay selected runs (same input)", permissions=["replay"])
    def replay_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> HttpResponse | None:
        return self._act_on_selected(request, "replay")

    def _act_on_selected(self, request: HttpRequest, name: str) -> HttpResponse | None:
        """The admin's actions go to the bulk confirmation page, like "… all matching".

        Ticked rows: the dry run over exactly those ids. Django's "select all N" across
        pages: the dry run of the list's filter (the same set, frozen when it is counted).
        """
        action = bulk.action_or_404(name)
        if not action.allowed(request):
            raise PermissionDenied
        if request.POST.get("select_across") == "1":
            url = reverse("admin:workflows_run_bulk", args=[name])
            return HttpResponseRedirect(_with_query(url, bulk.filter_params(request.GET)))
        ids = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        return bulk.confirm_selection(self, request, action, ids)
