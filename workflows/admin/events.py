"""Stored events (``send_event``) in the console: who sent what, and which runs it resumed."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from workflows.admin.base import FastChangelist
from workflows.admin.display import folded_json, when
from workflows.models import Event


class EventAdmin(FastChangelist):
    list_display = ("id", "name", "sent_by", "capability", "correlation_id", "sent")
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
    def data_json(self, event: Event) -> SafeString:
        return folded_json(event.data)

    @admin.display(description="sent", ordering="created_at")
    def sent(self, event: Event) -> SafeString:
        return when(event.created_at)
