"""Schedules in the console (group "Runs"): next and last tick, a link to their runs,
pause / resume actions, and an add form; every change goes through ``services``.

The add form checks what the API checks (``services.validate_schedule``) and shows the
same coded message on the field at fault; a stored schedule is not edited in a form (pause
it, delete it, create another), and a declared one is changed in the code.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from rawr_site.contract.errors import RawrError
from rawr_site.transports.auth import principal_for_user
from workflows import _registry
from workflows.admin.audit import log_changes
from workflows.schedules import services
from workflows.schedules.models import MissedPolicyChoice, Schedule, ScheduleSource

#: Error code -> the form field it belongs to.
_FIELD_OF = {
    "INVALID_CRON": "cron",
    "INVALID_TIMEZONE": "timezone",
    "INVALID_MISSED_POLICY": "catch_up_limit",
    "FUNCTION_NOT_FOUND": "function_id",
    "BAD_REQUEST": "input",
}


class ScheduleAddForm(forms.ModelForm):
    function_id = forms.ChoiceField(label="Function")
    input = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="JSON; every tick's run gets it (checked by the function's input model).",
    )

    class Meta:
        model = Schedule
        fields = ["function_id", "cron", "timezone", "input", "missed_policy", "catch_up_limit"]
        help_texts = {
            "cron": "5 fields (minute hour day month weekday), 6 with a leading seconds "
            "field, or @hourly, @daily ...",
            "timezone": "IANA zone the cron is read in (UTC, Europe/Berlin ...).",
            "catch_up_limit": "With catch up: how many of the newest missed ticks start.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["function_id"].choices = [(f.id, f.id) for f in _registry.all_functions()]
        self.valid: services.ValidSchedule | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        text = (data.get("input") or "").strip()
        try:
            raw_input = json.loads(text) if text else None
        except ValueError as exc:
            self.add_error("input", f"Not JSON: {exc}")
            return data
        policy = data.get("missed_policy") or MissedPolicyChoice.SKIP
        missed: Any = (
            ("catch_up", data.get("catch_up_limit"))
            if policy == MissedPolicyChoice.CATCH_UP
            else "skip"
        )
        try:
            self.valid = services.validate_schedule(
                function_id=data.get("function_id"),
                cron=data.get("cron"),
                timezone=data.get("timezone"),
                input=raw_input,
                missed=missed,
            )
        except RawrError as exc:
            self.add_error(_FIELD_OF.get(exc.code), f"{exc.code}: {exc.message}")
        return data


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "function_id",
        "cron_in_zone",
        "state",
        "next_fire_at",
        "last_fire_at",
        "runs",
        "skipped",
    ]
    # No filter sidebar: the few schedules a project has fit one page, and the columns need
    # the width (search by id or function).
    search_fields = ["=id", "=function_id"]
    actions = ["pause_schedules", "resume_schedules"]
    list_per_page = 100

    # -- columns ----------------------------------------------------------------------
    @admin.display(description="Cron", ordering="cron")
    def cron_in_zone(self, schedule: Schedule) -> str:
        return f"{schedule.cron} ({schedule.timezone})"

    @admin.display(description="State", ordering="paused")
    def state(self, schedule: Schedule) -> str:
        if schedule.paused:
            return "paused"
        return "error" if schedule.last_error else "active"

    @admin.display(description="Skipped", ordering="ticks_skipped")
    def skipped(self, schedule: Schedule) -> int:
        """Missed ticks the policy dropped."""
        return schedule.ticks_skipped

    @admin.display(description="Runs")
    def runs(self, schedule: Schedule) -> str:
        """The run list narrowed to this schedule's runs (their correlation id), and the
        last run."""
        query = urlencode({"q": schedule.runs_correlation_id})
        listed = f"{reverse('admin:workflows_run_changelist')}?{query}"
        if not schedule.last_run_id:
            return format_html('<a href="{}">all</a>', listed)
        last = reverse("admin:workflows_run_change", args=[schedule.last_run_id])
        return format_html(
            '<a href="{}">all</a> · <a href="{}" title="{}">last</a>',
            listed,
            last,
            schedule.last_run_id,
        )

    # -- the add form is the only form ------------------------------------------------
    def get_form(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ScheduleAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return ScheduleAddForm.Meta.fields
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return []
        return [field.name for field in Schedule._meta.fields]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        """Read-only page: pause, resume and delete are the only changes."""
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:  # nothing is editable; pause/resume are actions
            return
        valid = form.valid
        created = services.schedule_create(
            function_id=valid.function.id,
            cron=valid.spec.expression,
            timezone=valid.spec.timezone,
            input=valid.input,
            missed=valid.missed,
            by=principal_for_user(request.user).label(),
        )
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.source == ScheduleSource.DECLARED:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.schedule_delete(schedule_id=obj.pk, by=principal_for_user(request.user).label())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            try:
                self.delete_model(request, schedule)
            except RawrError as exc:
                self.message_user(request, f"{schedule.pk}: {exc.message}", messages.WARNING)

    # -- actions ----------------------------------------------------------------------
    @admin.action(description="Pause selected schedules", permissions=["change"])
    def pause_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        by = principal_for_user(request.user).label()
        done = [services.schedule_pause(schedule_id=s.pk, by=by) for s in queryset]
        log_changes(request, done, "Paused")
        self.message_user(request, f"Paused {len(done)} schedule(s).", messages.SUCCESS)

    @admin.action(description="Resume selected schedules", permissions=["change"])
    def resume_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        by = principal_for_user(request.user).label()
        done = [services.schedule_resume(schedule_id=s.pk, by=by) for s in queryset]
        log_changes(request, done, "Resumed")
        self.message_user(request, f"Resumed {len(done)} schedule(s).", messages.SUCCESS)
