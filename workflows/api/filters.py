"""Query filters of ``GET /api/runs/``.

Every filter maps onto an indexed column (status, function, capability, created_at,
correlation id, parent run, id prefix via the primary key's pattern index), so a filtered
page stays an index scan at millions of rows.
"""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from workflows.models import Run, RunStatus


class _PresentIsoDateTimeField(IsoDateTimeField):
    """An empty ``created_after=`` is a 400 like any other non-date, not "no filter"."""

    def clean(self, value):
        if value == "":
            raise forms.ValidationError("Enter an ISO 8601 date and time.", code="invalid")
        return super().clean(value)


class _IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _PresentIsoDateTimeField


class RunFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=RunStatus.choices,
        help_text="Only runs in these statuses (repeat the parameter for several).",
    )
    capability = filters.CharFilter(help_text="Only runs of this capability.")
    function = filters.CharFilter(field_name="function_id", help_text="Durable function id.")
    created_after = _IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Runs created at or after this ISO 8601 time.",
    )
    created_before = _IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text="Runs created before this ISO 8601 time.",
    )
    correlation_id = filters.CharFilter(help_text="Runs started under this correlation id.")
    parent_run = filters.CharFilter(
        field_name="parent_run_id", help_text="Child runs of this run id."
    )
    id_prefix = filters.CharFilter(
        field_name="id",
        lookup_expr="startswith",
        help_text="Runs whose id starts with this text (case-sensitive).",
    )

    class Meta:
        model = Run
        fields: list[str] = []
