"""The run list: columns, filters, index-backed search and the bulk actions.

Nothing here writes a run directly: the actions call ``workflows.services``, exactly like
the runs API, and each needs its model permission (``workflows.cancel_run`` ...). The
changelist is built for millions of rows: no full ``COUNT(*)``, no facet counts, no
``SELECT DISTINCT`` for filter choices, searches that hit an index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from rawr_site.contract.errors import RawrError
from workflows import _registry, services
from workflows.models import Run

#: Most runs one admin action may touch; bigger batches belong to a script or the API.
MAX_ACTION_RUNS = 500


def _some(items: list[str], separator: str, shown: int = 10) -> str:
    text = separator.join(items[:shown])
    return text if len(items) <= shown else f"{text} and {len(items) - shown} more"


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


class RunListMixin:
    """The changelist half of ``RunAdmin`` (the run page is ``RunPageMixin``)."""

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
    actions = ("cancel_runs", "retry_runs", "replay_runs")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Run], search_term: str
    ) -> tuple[QuerySet[Run], bool]:
        # Case-sensitive prefix on the primary key (its varchar_pattern_ops index) or an
        # exact correlation id (indexed); the default icontains would scan every row.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(id__startswith=term) | Q(correlation_id=term)), False

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
