"""Runs and events in the admin: read-only operational rows plus cancel / retry / replay.

Nothing here writes a run directly: the actions call ``workflows.services``, exactly like
the runs API, and each needs its model permission (``workflows.cancel_run`` ...). The
changelists are built for millions of rows: no full ``COUNT(*)``, no facet counts, no
``SELECT DISTINCT`` for filter choices, searches that hit an index.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html

from rawr_site.contract.errors import RawrError
from workflows import _registry, services
from workflows.models import Event, Run, Step, TimelineEvent

#: Most runs one admin action may touch; bigger batches belong to a script or the API.
MAX_ACTION_RUNS = 500


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to ``exact_limit`` rows, then estimates instead of ``COUNT(*)``.

    The exact part is a ``LIMIT``-ed subquery, so its cost is bounded. Past the limit, on
    Postgres, an unfiltered table uses ``pg_class.reltuples`` and a filtered query the
    planner's row estimate; page links past the real end then show an empty last page,
    which is the accepted price of a fast changelist.
    """

    exact_limit = 10_000

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if not isinstance(rows, QuerySet):
            return super().count
        exact = rows.order_by()[: self.exact_limit + 1].count()
        if exact <= self.exact_limit:
            return exact
        return max(exact, _estimated_count(rows))


def _estimated_count(rows: QuerySet) -> int:
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return rows.count()
    with connection.cursor() as cursor:
        if not rows.query.where:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [rows.model._meta.db_table],
            )
        else:
            sql, params = rows.order_by().query.sql_with_params()
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        row = cursor.fetchone()
    if row is None:
        return 0
    if isinstance(row[0], int):
        return row[0]
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return int(plan[0]["Plan"]["Plan Rows"])


def _some(items: list[str], separator: str, shown: int = 10) -> str:
    text = separator.join(items[:shown])
    return text if len(items) <= shown else f"{text} and {len(items) - shown} more"


def _pretty_json(value: Any) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class _FastChangelist(admin.ModelAdmin):
    """Read-only changelist that stays fast on big operational tables."""

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


class _ReadOnlyInline(admin.TabularInline):
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


class StepInline(_ReadOnlyInline):
    model = Step
    fk_name = "run"
    ordering = ("position",)
    fields = (
        "position",
        "step_id",
        "kind",
        "status",
        "attempts",
        "started_at",
        "finished_at",
        "output_json",
        "error_json",
    )
    readonly_fields = fields

    @admin.display(description="output")
    def output_json(self, step: Step) -> str:
        return _pretty_json(step.output)

    @admin.display(description="error")
    def error_json(self, step: Step) -> str:
        return _pretty_json(step.error)


class TimelineEventInline(_ReadOnlyInline):
    model = TimelineEvent
    ordering = ("seq",)
    fields = ("seq", "type", "step_id", "payload_json", "correlation_id", "created_at")
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_json(self, event: TimelineEvent) -> str:
        return _pretty_json(event.payload)


class FunctionFilter(admin.SimpleListFilter):
    """Choices from the function registry, not ``SELECT DISTINCT`` over every run."""

    title = "function"
    parameter_name = "function_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(function.id, function.id) for function in _registry.all_functions()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> QuerySet[Run]:
        value = self.value()
        return queryset.filter(function_id=value) if value else queryset


class CapabilityFilter(admin.SimpleListFilter):
    title = "capability"
    parameter_name = "capability"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        capabilities = {f.capability for f in _registry.all_functions() if f.capability}
        return [(capability, capability) for capability in sorted(capabilities)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> QuerySet[Run]:
        value = self.value()
        return queryset.filter(capability=value) if value else queryset


RunAction = Callable[..., Run]


@admin.register(Run)
class RunAdmin(_FastChangelist):
    list_display = (
        "id",
        "function_id",
        "capability",
        "status",
        "attempt",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", CapabilityFilter, FunctionFilter)
    search_fields = ("id", "correlation_id")
    search_help_text = "Run id (or its beginning) or exact correlation id."
    inlines = (StepInline, TimelineEventInline)
    actions = ("cancel_runs", "retry_runs", "replay_runs")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "function_id",
                    "capability",
                    "status",
                    "attempt",
                    "principal",
                    "correlation_id",
                    "parent_run",
                    "parent_step_id",
                    "replay_of",
                    "idempotency_key",
                )
            },
        ),
        ("Data", {"fields": ("input_json", "output_json", "error_json")}),
        (
            "Timing",
            {
                "fields": (
                    "created_at",
                    "started_at",
                    "finished_at",
                    "wake_at",
                    "cancel_requested_at",
                    "cancelled_by",
                )
            },
        ),
        (
            "Execution",
            {
                "classes": ("collapse",),
                "fields": ("queue", "priority", "lease_owner", "lease_expires_at", "next_seq"),
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Run | None = None) -> list[str]:
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Run], search_term: str
    ) -> tuple[QuerySet[Run], bool]:
        # Case-sensitive prefix on the primary key (its varchar_pattern_ops index) or an
        # exact correlation id (indexed); the default icontains would scan every row.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(id__startswith=term) | Q(correlation_id=term)), False

    @admin.display(description="input")
    def input_json(self, run: Run) -> str:
        return _pretty_json(run.input)

    @admin.display(description="output")
    def output_json(self, run: Run) -> str:
        return _pretty_json(run.output)

    @admin.display(description="error")
    def error_json(self, run: Run) -> str:
        return _pretty_json(run.error)

    # -- actions: through workflows.services, permission-checked ------------------------
    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("workflows.cancel_run")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("workflows.retry_run")

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("workflows.replay_run")

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._apply(request, queryset, services.run_cancel, "Cancelled")

    @admin.action(description="Retry selected failed runs", permissions=["retry"])
    def retry_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._apply(request, queryset, services.run_retry, "Re-queued")

    @admin.action(description="Replay selected runs (same input)", permissions=["replay"])
    def replay_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._apply(request, queryset, services.run_replay, "Replayed")

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Run], act: RunAction, verb: str
    ) -> None:
        run_ids = list(queryset.order_by().values_list("pk", flat=True)[: MAX_ACTION_RUNS + 1])
        if len(run_ids) > MAX_ACTION_RUNS:
            self.message_user(
                request,
                f"Select at most {MAX_ACTION_RUNS} runs per action (narrow the filter).",
                level=messages.ERROR,
            )
            return
        by = f"user:{request.user.get_username()}"
        done: list[str] = []
        failed: list[str] = []
        for run_id in run_ids:
            try:
                result = act(run_id=run_id, by=by)
            except RawrError as exc:
                failed.append(f"{run_id}: {exc.code} {exc.message}")
                continue
            if result.pk != run_id:
                done.append(f"{run_id} → {result.pk}")
            elif result.status == "running" and result.cancel_requested_at is not None:
                # A running run stops at its next step boundary, not now.
                done.append(f"{run_id} (stops at its next step)")
            else:
                done.append(run_id)
        if done:
            self.message_user(
                request, f"{verb} {len(done)} run(s): {_some(done, ', ')}", level=messages.SUCCESS
            )
        if failed:
            self.message_user(
                request,
                f"{len(failed)} run(s) unchanged: {_some(failed, '; ')}",
                level=messages.ERROR,
            )


@admin.register(Event)
class EventAdmin(_FastChangelist):
    list_display = ("id", "name", "sent_by", "capability", "correlation_id", "created_at")
    search_fields = ("id", "name")
    search_help_text = "Exact event id or event name."
    fields = (
        "id",
        "name",
        "data_json",
        "sent_by",
        "capability",
        "correlation_id",
        "resumed_run_ids",
        "created_at",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str
    ) -> tuple[QuerySet[Event], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(id=term) | Q(name=term)), False

    @admin.display(description="data")
    def data_json(self, event: Event) -> str:
        return _pretty_json(event.data)
