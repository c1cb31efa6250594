"""``/api/approvals/``: pending approvals to decide, and the decision.

============================  ==========================  ==============================
caller                        list                        decide
============================  ==========================  ==============================
anonymous                     401                         401
session, not staff            403                         403
staff session                 every pending approval      with ``workflows.decide_approval``
API key                       approvals of runs in scope  approvals of runs in scope
============================  ==========================  ==============================

The same rule as the runs API (an API key may cancel the runs it sees, so it may decide
their approvals); an approval of a run outside a key's scopes is a 404, never a 403.
Thin: reads through ``workflows.selectors``, the decision through
``workflows.services.approval_decide`` (the call the admin inbox and ``approveDesk`` make).
"""

from __future__ import annotations

from django.db.models import Field, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from rawr_site.contract.errors import RawrError
from rawr_site.host.drf_parsers import StrictJSONParser
from rawr_site.transports.openapi import ERROR_COMPONENT, REF_TEMPLATE
from workflows import selectors, services
from workflows.api.pagination import KeysetCursorPagination
from workflows.api.permissions import (
    StaffOrApiKeyPermission,
    actor_label,
    visible_capabilities,
)
from workflows.codes import APPROVAL_NOT_FOUND
from workflows.models import Approval, ApprovalStatus

DECIDE_PERMISSION = "workflows.decide_approval"
_NULLABLE_STR = serializers.CharField(allow_null=True, read_only=True)


class ApprovalsApiPermission(StaffOrApiKeyPermission):
    message = "The approvals API needs an API key or a staff session"
    action_permissions = {"decide": DECIDE_PERMISSION}


class ApprovalCursorPagination(KeysetCursorPagination):
    """Soonest due first (see ``selectors.approvals_pending``); ``due_at`` is annotated."""

    ordering = ("due_at", "created_at", "id")
    page_size = 50
    max_page_size = 200

    def _key_fields(self, queryset: QuerySet) -> list[Field]:
        created = Approval._meta.get_field("created_at")
        return [created, created, Approval._meta.get_field("id")]


class ApprovalResourceSerializer(serializers.Serializer):
    """An approval as callers see it (camelCase, like the runs API)."""

    approvalId = serializers.CharField(source="id", read_only=True)
    runId = serializers.CharField(source="run_id", read_only=True)
    stepId = serializers.CharField(source="step_id", read_only=True)
    workflowId = serializers.SerializerMethodField(
        help_text="The coordination workflow, when the approval is a human-wait desk."
    )
    deskId = serializers.SerializerMethodField(
        help_text="The human-wait desk, when the approval is one."
    )
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=ApprovalStatus.choices, read_only=True)
    since = serializers.DateTimeField(
        source="created_at", read_only=True, help_text="When the run started waiting."
    )
    timeoutAt = serializers.DateTimeField(
        source="timeout_at",
        read_only=True,
        allow_null=True,
        help_text="When the wait times out (null: never).",
    )
    context = serializers.JSONField(read_only=True, help_text="What to decide on.")
    decision = serializers.SerializerMethodField()
    payload = serializers.JSONField(read_only=True, help_text="The decision's payload.")
    decidedBy = serializers.SerializerMethodField()
    decidedAt = serializers.DateTimeField(source="decided_at", read_only=True, allow_null=True)

    @extend_schema_field(_NULLABLE_STR)
    def get_workflowId(self, approval: Approval) -> str | None:
        return approval.workflow_id or None

    @extend_schema_field(_NULLABLE_STR)
    def get_deskId(self, approval: Approval) -> str | None:
        return approval.desk_id or None

    @extend_schema_field(
        serializers.ChoiceField(choices=services.DECISIONS, allow_null=True, read_only=True)
    )
    def get_decision(self, approval: Approval) -> str | None:
        return approval.decision or None

    @extend_schema_field(_NULLABLE_STR)
    def get_decidedBy(self, approval: Approval) -> str | None:
        return approval.decided_by or None


class ApprovalDecisionRequestSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=services.DECISIONS)
    payload = serializers.JSONField(
        required=False, allow_null=True, help_text="Any JSON; the waiting step receives it."
    )


_APPROVAL_ID = OpenApiParameter(
    "approvalId", OpenApiTypes.STR, OpenApiParameter.PATH, description="Approval id (apr_...)."
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(
        response={"$ref": REF_TEMPLATE.format(model=ERROR_COMPONENT)}, description=description
    )


class ApprovalViewSet(viewsets.GenericViewSet):
    """Approvals that runs wait for (``step.wait_for_approval``; human-wait desks)."""

    serializer_class = ApprovalResourceSerializer
    permission_classes = [ApprovalsApiPermission]
    pagination_class = ApprovalCursorPagination
    lookup_url_kwarg = "approvalId"
    lookup_value_regex = "[^/]+"
    queryset = Approval.objects.none()  # for schema introspection

    def get_queryset(self) -> QuerySet[Approval]:
        return selectors.approvals_pending(capabilities=visible_capabilities(self.request))

    @extend_schema(
        operation_id="approvals_list",
        summary="Pending approvals, soonest due first",
        description=(
            "Every pending approval the caller may decide (API keys: approvals of runs of "
            "their scopes), ordered by `timeoutAt` (none last), then `since`. "
            "Cursor-paginated (follow `next`); no total count is computed."
        ),
        responses={
            200: ApprovalResourceSerializer(many=True),
            400: _error("`BAD_REQUEST` (bad cursor)"),
            401: _error("`UNAUTHORIZED`"),
            403: _error("`FORBIDDEN`"),
        },
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="approvals_decide",
        summary="Approve or reject a pending approval",
        description=(
            "Records the decision with the caller as `decidedBy` (in the run's timeline as "
            "`approval.decided`) and wakes the run; the waiting step returns "
            "`{decision, payload, decidedBy}`. Exactly one of several racing decisions "
            "wins. Staff sessions need `workflows.decide_approval`."
        ),
        parameters=[_APPROVAL_ID],
        request=ApprovalDecisionRequestSerializer,
        responses={
            200: ApprovalResourceSerializer,
            400: _error("`BAD_REQUEST`"),
            401: _error("`UNAUTHORIZED`"),
            403: _error("`FORBIDDEN`"),
            404: _error("`APPROVAL_NOT_FOUND`"),
            409: _error("`APPROVAL_NOT_PENDING` (decided, expired or cancelled)"),
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[StrictJSONParser])
    def decide(self, request: Request, approvalId: str) -> Response:
        approval_id = approvalId
        capabilities = visible_capabilities(request)
        if capabilities is not None:
            visible = Approval.objects.filter(
                pk=approval_id, run__capability__in=list(capabilities)
            ).exists()
            if not visible:
                raise APPROVAL_NOT_FOUND(
                    f"Approval {approval_id} not found", data={"approvalId": approval_id}
                )
        if not isinstance(request.data, dict):
            raise RawrError("BAD_REQUEST", 400, "The body must be a JSON object")
        body = ApprovalDecisionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = services.approval_decide(
            approval_id=approval_id,
            decision=body.validated_data["decision"],
            payload=body.validated_data.get("payload"),
            by=actor_label(request),
        )
        return Response(self.get_serializer(approval).data)
