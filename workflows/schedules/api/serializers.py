"""Shapes of ``/api/schedules/`` (camelCase, like the runs API)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workflows.schedules.models import Schedule, ScheduleSource


class MissedPolicySerializer(serializers.Serializer):
    policy = serializers.ChoiceField(
        choices=["skip", "catch_up"],
        help_text="skip: ticks later than the grace are dropped; catch_up: the newest "
        "`limit` of them still start.",
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=1000, help_text="With catch_up only."
    )


class ScheduleErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    tick = serializers.CharField(required=False)


class ScheduleResourceSerializer(serializers.Serializer):
    """A schedule as callers see it, with its next and last tick."""

    scheduleId = serializers.CharField(source="id", read_only=True)
    functionId = serializers.CharField(source="function_id", read_only=True)
    capability = serializers.CharField(read_only=True)
    cron = serializers.CharField(read_only=True)
    timezone = serializers.CharField(read_only=True)
    input = serializers.JSONField(read_only=True, help_text="Every tick's run gets this input.")
    missed = serializers.SerializerMethodField()
    source = serializers.ChoiceField(choices=ScheduleSource.choices, read_only=True)
    paused = serializers.BooleanField(read_only=True)
    pausedAt = serializers.DateTimeField(source="paused_at", read_only=True, allow_null=True)
    pausedBy = serializers.SerializerMethodField()
    nextFireAt = serializers.DateTimeField(
        source="next_fire_at",
        read_only=True,
        allow_null=True,
        help_text="The next tick (while paused: the one before the pause).",
    )
    lastFireAt = serializers.DateTimeField(
        source="last_fire_at", read_only=True, allow_null=True, help_text="The last tick fired."
    )
    lastRunId = serializers.SerializerMethodField()
    ticksSkipped = serializers.IntegerField(
        source="ticks_skipped", read_only=True, help_text="Missed ticks the policy dropped."
    )
    lastError = serializers.SerializerMethodField()
    runsCorrelationId = serializers.CharField(
        source="runs_correlation_id",
        read_only=True,
        help_text="Every run of this schedule carries it: /api/runs/?correlation_id=...",
    )
    createdBy = serializers.CharField(source="created_by", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    @extend_schema_field(MissedPolicySerializer)
    def get_missed(self, schedule: Schedule) -> dict[str, Any]:
        if schedule.missed_policy == "catch_up":
            return {"policy": "catch_up", "limit": schedule.catch_up_limit}
        return {"policy": "skip"}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_pausedBy(self, schedule: Schedule) -> str | None:
        return schedule.paused_by or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_lastRunId(self, schedule: Schedule) -> str | None:
        return schedule.last_run_id or None

    @extend_schema_field(ScheduleErrorSerializer(allow_null=True))
    def get_lastError(self, schedule: Schedule) -> dict[str, Any] | None:
        return schedule.last_error or None


class ScheduleCreateRequestSerializer(serializers.Serializer):
    """What a new schedule needs. The cron, zone, policy and input are checked by the
    service, each with its own code (``INVALID_CRON`` ...), before anything is stored."""

    functionId = serializers.CharField(max_length=200)
    cron = serializers.CharField(
        max_length=200,
        help_text="5 fields (minute hour day month weekday), 6 with a leading seconds "
        "field, or a macro (@hourly, @daily ...).",
    )
    timezone = serializers.CharField(
        max_length=64, default="UTC", help_text="IANA zone the cron is read in."
    )
    input = serializers.JSONField(
        required=False, allow_null=True, help_text="Validated by the function's input model."
    )
    missed = serializers.JSONField(
        required=False,
        help_text='"skip" (default) or {"policy": "catch_up", "limit": N}.',
    )
    paused = serializers.BooleanField(default=False, help_text="Create it paused.")
