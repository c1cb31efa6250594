"""``/api/runs/``: read runs, steps and timelines; cancel, retry, replay.

Thin: reads go through ``workflows.selectors``, writes through ``workflows.services``
(the same calls the admin makes), and every ``RawrError`` leaves in the one error shape
via the DRF exception handler. A run outside an API key's scopes is a 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
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
from rawr_site.log_context import correlation_id_of
from rawr_site.transports.openapi import ERROR_COMPONENT, REF_TEMPLATE
from workflows import selectors, services
from workflows.api.filters import RunFilter
from workflows.api.pagination import (
    RunCursorPagination,
    StepCursorPagination,
    TimelineCursorPagination,
)
from workflows.api.permissions import (
    RunsApiPermission,
    actor_label,
    shows_tracebacks,
    visible_capabilities,
)
from workflows.api.serializers import (
    RunReplayRequestSerializer,
    RunResourceSerializer,
    StepResourceSerializer,
    TimelineEventResourceSerializer,
)
from workflows.codes import INVALID_RUN_ID, RUN_NOT_FOUND
from workflows.ids import SAFE_ID_PATTERN, is_safe_id
from workflows.limits import (
    EVENT_JSON,
    RUN_JSON,
    STEP_JSON,
    adopt_safe_json,
    first_safely,
    with_safe_json,
)
from workflows.models import Run

_RUN_ID = OpenApiParameter(
    "id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Run id (letters, digits, '.', '_', '-'; at most 128 characters).",
    pattern=SAFE_ID_PATTERN,
)
_AFTER = OpenApiParameter(
    "after",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    description="Only events with a seq greater than this (tail a timeline while polling).",
)


def _errors(*codes: str) -> dict[int, OpenApiResponse]:
    """Error responses in the one error shape, documented by their codes."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        status_code = {
            "BAD_REQUEST": 400,
            "INVALID_RUN_ID": 400,
            "UNAUTHORIZED": 401,
            "FORBIDDEN": 403,
            "RUN_NOT_FOUND": 404,
            "FUNCTION_NOT_FOUND": 404,
            "RUN_NOT_CANCELLABLE": 409,
            "RUN_NOT_RETRYABLE": 409,
        }[code]
        by_status.setdefault(status_code, []).append(code)
    return {
        status_code: OpenApiResponse(
            response={"$ref": REF_TEMPLATE.format(model=ERROR_COMPONENT)},
            description=", ".join(f"`{code}`" for code in names),
        )
        for status_code, names in sorted(by_status.items())
    }


_READ_ERRORS = ("UNAUTHORIZED", "FORBIDDEN")
_RUN_ERRORS = ("INVALID_RUN_ID", "UNAUTHORIZED", "FORBIDDEN", "RUN_NOT_FOUND")


@extend_schema_view(
    list=extend_schema(
        operation_id="runs_list",
        summary="List runs, newest first",
        description="Cursor-paginated (follow `next`); no total count is computed.",
        responses={200: RunResourceSerializer(many=True), **_errors("BAD_REQUEST", *_READ_ERRORS)},
    ),
    retrieve=extend_schema(
        operation_id="runs_retrieve",
        summary="Get a run",
        parameters=[_RUN_ID],
        responses={200: RunResourceSerializer, **_errors(*_RUN_ERRORS)},
    ),
)
class RunViewSet(viewsets.GenericViewSet):
    """Runs of durable functions, as dashboards and ops tooling see them."""

    serializer_class = RunResourceSerializer
    permission_classes = [RunsApiPermission]
    filter_backends = [DjangoFilterBackend]
    filterset_class = RunFilter
    pagination_class = RunCursorPagination
    lookup_url_kwarg = "id"
    # Let every id reach the view, so a malformed one is 400 INVALID_RUN_ID, not a 404.
    lookup_value_regex = "[^/]+"
    queryset = Run.objects.none()  # for schema introspection; get_queryset scopes real reads

    def get_queryset(self) -> QuerySet[Run]:
        # Stored values are read safely (``workflows.limits``): none can break a response.
        return with_safe_json(
            selectors.run_list(capabilities=visible_capabilities(self.request)), *RUN_JSON
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["include_traceback"] = shows_tracebacks(self.request)
        return context

    def get_run(self) -> Run:
        run_id = self.kwargs[self.lookup_url_kwarg]
        if not is_safe_id(run_id):
            raise INVALID_RUN_ID(data={"runId": run_id})
        run = first_safely(
            selectors.run_list(capabilities=visible_capabilities(self.request)).filter(pk=run_id),
            *RUN_JSON,
        )
        if run is None:
            raise RUN_NOT_FOUND(f"Run {run_id} not found", data={"runId": run_id})
        return run

    def _run_response(self, run: Run, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(run).data, status=status_code)

    def list(self, request: Request) -> Response:
        return self._paginated(self.filter_queryset(self.get_queryset()))

    def retrieve(self, request: Request, id: str) -> Response:
        return self._run_response(self.get_run())

    # -- reads of one run ---------------------------------------------------------------
    def _paginated(self, rows: QuerySet) -> Response:
        page = adopt_safe_json(self.paginate_queryset(rows) or [])
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="runs_steps",
        summary="A run's steps, in execution order",
        parameters=[_RUN_ID],
        responses={200: StepResourceSerializer(many=True), **_errors(*_RUN_ERRORS)},
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=StepCursorPagination,
        serializer_class=StepResourceSerializer,
    )
    def steps(self, request: Request, id: str) -> Response:
        return self._paginated(with_safe_json(selectors.step_list(run=self.get_run()), *STEP_JSON))

    @extend_schema(
        operation_id="runs_timeline",
        summary="A run's timeline, ordered by seq",
        parameters=[_RUN_ID, _AFTER],
        responses={
            200: TimelineEventResourceSerializer(many=True),
            **_errors("BAD_REQUEST", *_RUN_ERRORS),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=TimelineCursorPagination,
        serializer_class=TimelineEventResourceSerializer,
    )
    def timeline(self, request: Request, id: str) -> Response:
        after = request.query_params.get("after")
        if after is not None and not (after.isascii() and after.isdigit()):
            raise RawrError("BAD_REQUEST", 400, "after must be a non-negative integer")
        events = selectors.timeline_list(
            run=self.get_run(), after_seq=int(after) if after is not None else None
        )
        return self._paginated(with_safe_json(events, *EVENT_JSON))

    # -- actions: all through workflows.services ---------------------------------------
    @extend_schema(
        operation_id="runs_cancel",
        summary="Cancel a run",
        description=(
            "A queued, sleeping or waiting run is cancelled at once; a running run stops at "
            "its next step boundary (`cancelRequestedAt` is set, `status` is still running). "
            "Active child runs are cancelled too. Needs `workflows.cancel_run` for staff."
        ),
        parameters=[_RUN_ID],
        request=None,
        responses={200: RunResourceSerializer, **_errors(*_RUN_ERRORS, "RUN_NOT_CANCELLABLE")},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request: Request, id: str) -> Response:
        run = self.get_run()
        return self._run_response(services.run_cancel(run_id=run.pk, by=actor_label(request)))

    @extend_schema(
        operation_id="runs_retry",
        summary="Retry a failed run from its failed step",
        description=(
            "Completed steps stay memoized; the run is queued again. "
            "Needs `workflows.retry_run` for staff."
        ),
        parameters=[_RUN_ID],
        request=None,
        responses={202: RunResourceSerializer, **_errors(*_RUN_ERRORS, "RUN_NOT_RETRYABLE")},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def retry(self, request: Request, id: str) -> Response:
        run = self.get_run()
        retried = services.run_retry(run_id=run.pk, by=actor_label(request))
        return self._run_response(retried, status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="runs_replay",
        summary="Replay a run as a new run",
        description=(
            "Starts a new run of the same function with the original input, or with `input` "
            "from the body. The new run's `replayOfId` is this run; it carries this "
            "request's correlation id. Needs `workflows.replay_run` for staff. A replay is "
            "always a new run, even for functions with an idempotency key."
        ),
        parameters=[_RUN_ID],
        request=RunReplayRequestSerializer,
        responses={
            201: RunResourceSerializer,
            **_errors("BAD_REQUEST", *_RUN_ERRORS, "FUNCTION_NOT_FOUND"),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], parser_classes=[StrictJSONParser])
    def replay(self, request: Request, id: str) -> Response:
        run = self.get_run()
        body = RunReplayRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        replay = services.run_replay(
            run_id=run.pk,
            by=actor_label(request),
            input=body.validated_data.get("input"),
            correlation_id=correlation_id_of(request._request),
        )
        response = self._run_response(replay, status.HTTP_201_CREATED)
        response["Location"] = reverse(
            "workflows-run-detail", kwargs={"id": replay.pk}, request=request
        )
        return response
