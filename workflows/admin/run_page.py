"""The run page: what a run did, what it waits for, and what staff may do with it."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.safestring import SafeString

from workflows.admin.base import ReadOnlyInline
from workflows.admin.display import folded_json
from workflows.models import Run, Step, TimelineEvent


class StepInline(ReadOnlyInline):
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
    def output_json(self, step: Step) -> SafeString:
        return folded_json(step.output)

    @admin.display(description="error")
    def error_json(self, step: Step) -> SafeString:
        return folded_json(step.error)


class TimelineEventInline(ReadOnlyInline):
    model = TimelineEvent
    ordering = ("seq",)
    fields = ("seq", "type", "step_id", "payload_json", "correlation_id", "created_at")
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_json(self, event: TimelineEvent) -> SafeString:
        return folded_json(event.payload)


class RunPageMixin:
    """The change-view half of ``RunAdmin`` (the list is ``RunListMixin``)."""

    inlines = (StepInline, TimelineEventInline)
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

    @admin.display(description="input")
    def input_json(self, run: Run) -> SafeString:
        return folded_json(run.input)

    @admin.display(description="output")
    def output_json(self, run: Run) -> SafeString:
        return folded_json(run.output)

    @admin.display(description="error")
    def error_json(self, run: Run) -> SafeString:
        return folded_json(run.error)
