"""``/api/schedules/``: list, create (with an input), get, pause, resume, delete.

Thin: reads through ``workflows.schedules.selectors``, writes through
``workflows.schedules.services`` (what the console calls too); every ``RawrError`` leaves
in the one error shape. A schedule outside an API key's scopes is a 404, never a 403.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from rawr_site.contract.errors import RawrError
from rawr_site.host.drf_parsers import StrictJSONParser
from rawr_site.transports.openapi import ERROR_COMPONENT, REF_TEMPLATE
from workflows.api.pagination import KeysetCursorPagination
from workflows.api.permissions import actor_label, visible_capabilities
from workflows.ids import SAFE_ID_PATTERN
from workflows.schedules import selectors, services
from workflows.schedules.api.permissions import SchedulesApiPermission
from workflows.schedules.api.serializers import (
    ScheduleCreateRequestSerializer,
    ScheduleResourceSerializer,
)
from workflows.schedules.models import Schedule

_SCHEDULE_ID = OpenApiParameter(
    "scheduleId",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Schedule id (sch_... or declared.<function id>).",
    pattern=SAFE_ID_PATTERN,
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(
        response={"$ref": REF_TEMPLATE.format(model=ERROR_COMPONENT)}, description=description
    )


_AUTH = {401: _error("`UNAUTHORIZED`"), 403: _error("`FORBIDDEN`")}
_ONE = {
    400: _error("`INVALID_SCHEDULE_ID`"),
    **_AUTH,
    404: _error("`SCHEDULE_NOT_FOUND`"),
}


class ScheduleCursorPagination(KeysetCursorPagination):
    ordering = ("id",)
    page_size = 50
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        operation_id="schedules_list",
        summary="List schedules, by id",
        description="Declared and run-time schedules with their next and last tick. "
        "Cursor-paginated (follow `next`).",
        responses={
            200: ScheduleResourceSerializer(many=True),
            400: _error("`BAD_REQUEST` (bad cursor or limit)"),
            **_AUTH,
        },
    ),
    retrieve=extend_schema(
        operation_id="schedules_retrieve",
        summary="Get a schedule",
        parameters=[_SCHEDULE_ID],
        responses={200: ScheduleResourceSerializer, **_ONE},
    ),
)
class ScheduleViewSet(viewsets.GenericViewSet):
    """Cron schedules of durable functions; each tick starts exactly one run."""

    serializer_class = ScheduleResourceSerializer
    permission_classes = [SchedulesApiPermission]
    # JSON only, strictly (no form posts, no NaN), like every other write of the API.
    parser_classes = [StrictJSONParser]
    pagination_class = ScheduleCursorPagination
    lookup_url_kwarg = "scheduleId"
    # Every id reaches the view, so a malformed one is 400 INVALID_SCHEDULE_ID, not a 404.
    lookup_value_regex = "[^/]+"
    queryset = Schedule.objects.none()  # for schema introspection

    def get_queryset(self) -> QuerySet[Schedule]:
        return selectors.schedule_list(capabilities=visible_capabilities(self.request))

    def _one(self, schedule: Schedule, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(schedule).data, status=code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, scheduleId: str) -> Response:
        return self._one(
            selectors.schedule_get(
                schedule_id=scheduleId, capabilities=visible_capabilities(request)
            )
        )

    @extend_schema(
        operation_id="schedules_create",
        summary="Create a schedule",
        description=(
            "Starts `functionId` with `input` at every tick of `cron` read in `timezone`; "
            "the first tick is the next one after now. Every run carries the idempotency "
            "key `schedule:<scheduleId>:<tick>` and the correlation id "
            "`schedule:<scheduleId>`. Nothing is stored when any part is refused. Staff "
            "sessions need `schedules.add_schedule`."
        ),
        request=ScheduleCreateRequestSerializer,
        responses={
            201: ScheduleResourceSerializer,
            400: _error(
                "`BAD_REQUEST` (body or input), `INVALID_CRON`, `INVALID_TIMEZONE`, "
                "`INVALID_MISSED_POLICY`, `FUNCTION_NOT_FOUND`"
            ),
            **_AUTH,
        },
    )
    def create(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise RawrError("BAD_REQUEST", 400, "The body must be a JSON object")
        body = ScheduleCreateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        schedule = services.schedule_create(
            function_id=data["functionId"],
            cron=data["cron"],
            timezone=data["timezone"],
            input=data.get("input"),
            missed=data.get("missed", "skip"),
            paused=data["paused"],
            by=actor_label(request),
            capabilities=visible_capabilities(request),
        )
        response = self._one(schedule, status.HTTP_201_CREATED)
        response["Location"] = reverse(
            "schedules-schedule-detail", kwargs={"scheduleId": schedule.pk}, request=request
        )
        return response

    @extend_schema(
        operation_id="schedules_pause",
        summary="Pause a schedule",
        description="No tick starts a run until it is resumed; pausing twice is harmless. "
        "Staff sessions need `schedules.change_schedule`.",
        parameters=[_SCHEDULE_ID],
        request=None,
        responses={200: ScheduleResourceSerializer, **_ONE},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, scheduleId: str) -> Response:
        return self._one(
            services.schedule_pause(
                schedule_id=scheduleId,
                by=actor_label(request),
                capabilities=visible_capabilities(request),
            )
        )

    @extend_schema(
        operation_id="schedules_resume",
        summary="Resume a paused schedule",
        description="The next tick after now starts a run; ticks while paused never do. "
        "Staff sessions need `schedules.change_schedule`.",
        parameters=[_SCHEDULE_ID],
        request=None,
        responses={200: ScheduleResourceSerializer, **_ONE},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, scheduleId: str) -> Response:
        return self._one(
            services.schedule_resume(
                schedule_id=scheduleId,
                by=actor_label(request),
                capabilities=visible_capabilities(request),
            )
        )

    @extend_schema(
        operation_id="schedules_delete",
        summary="Delete a schedule",
        description="Its runs stay. A schedule declared in code is 409 `SCHEDULE_DECLARED`: "
        "pause it, or remove the declaration. Staff sessions need "
        "`schedules.delete_schedule`.",
        parameters=[_SCHEDULE_ID],
        responses={
            204: None,
            **_ONE,
            409: _error("`SCHEDULE_DECLARED`"),
        },
    )
    def destroy(self, request: Request, scheduleId: str) -> Response:
        services.schedule_delete(
            schedule_id=scheduleId,
            by=actor_label(request),
            capabilities=visible_capabilities(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
