"""Read shapes of the runs API (camelCase) and the replay request body.

Errors lose their traceback unless the serializer context says ``include_traceback``
(the views set it for staff sessions only): API keys never see server internals.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workflows.limits import api_view
from workflows.models import Run, RunStatus, StepKind, StepStatus


class StoredJSONField(serializers.JSONField):
    """A stored value, unchanged within the stored-value limits, cut to them otherwise
    (``workflows.limits.api_view``): no stored value can break or bloat a response."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return api_view(value)


class StoredDictField(serializers.DictField):
    """``StoredJSONField`` for a value stored as an object (anything else is wrapped)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        shown = api_view(value)
        return shown if isinstance(shown, dict) else {"value": shown}


class RunErrorResourceSerializer(serializers.Serializer):
    """Why a run or step failed."""

    code = serializers.CharField()
    message = serializers.CharField()
    stepId = serializers.CharField(required=False)
    traceback = serializers.CharField(
        required=False, help_text="Only shown to staff sessions, never to API keys."
    )


@extend_schema_field(RunErrorResourceSerializer)
class ErrorField(serializers.Field):
    """The stored error dict, with ``traceback`` only when the context allows it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, Any] | None:
        if not value:
            return None
        value = api_view(value)
        if not isinstance(value, dict):  # stored in some other shape: shown, not trusted
            return {"code": "", "message": str(value)[:20_000]}
        if self.context.get("include_traceback"):
            return dict(value)
        return {key: item for key, item in value.items() if key != "traceback"}


class RunResourceSerializer(serializers.Serializer):
    runId = serializers.CharField(source="id", read_only=True)
    functionId = serializers.CharField(source="function_id", read_only=True)
    capability = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=RunStatus.choices, read_only=True)
    input = StoredJSONField()
    output = StoredJSONField()
    error = ErrorField()
    attempt = serializers.IntegerField(
        read_only=True, help_text="Executions started so far (1 after the first start)."
    )
    correlationId = serializers.CharField(source="correlation_id", read_only=True)
    parentRunId = serializers.CharField(source="parent_run_id", read_only=True, allow_null=True)
    replayOfId = serializers.CharField(source="replay_of_id", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    startedAt = serializers.DateTimeField(source="started_at", read_only=True, allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)
    cancelRequestedAt = serializers.DateTimeField(
        source="cancel_requested_at",
        read_only=True,
        allow_null=True,
        help_text="Set when a cancel was asked for; a running run stops at its next step.",
    )
    cancelledBy = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cancelledBy(self, run: Run) -> str | None:
        return run.cancelled_by or None


class StepResourceSerializer(serializers.Serializer):
    stepId = serializers.CharField(source="step_id", read_only=True)
    kind = serializers.ChoiceField(choices=StepKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=StepStatus.choices, read_only=True)
    output = StoredJSONField()
    error = ErrorField()
    attempts = serializers.IntegerField(read_only=True)
    startedAt = serializers.DateTimeField(source="started_at", read_only=True, allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)


class TimelineEventResourceSerializer(serializers.Serializer):
    seq = serializers.IntegerField(read_only=True)
    type = serializers.CharField(read_only=True)
    stepId = serializers.CharField(source="step_id", read_only=True)
    payload = StoredDictField()
    correlationId = serializers.CharField(source="correlation_id", read_only=True)
    at = serializers.DateTimeField(source="created_at", read_only=True)


class RunReplayRequestSerializer(serializers.Serializer):
    input = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="Input for the new run; omit it (or send null) to reuse the original input.",
    )
