"""``GET /rawr/runs/<runId>/watch``: live status and timeline of a run for MFEs.

The host's ``ctx.runs.watch(runId, onUpdate)`` polls this view with ``ETag`` /
``If-None-Match``: the view answers at once when the run changed since the caller's tag,
else ``304`` -- at once by default (the browser asks again after
``RAWR_RUN_WATCH_POLL_MS``), or, with ``RAWR_RUN_WATCH_WAIT_SECONDS`` > 0, after holding the
request that long (checking every ``POLL_SECONDS``) as a long-poll. A held request keeps a
web thread busy, hence the default of 0. ``?after=<seq>`` returns only timeline events
after ``seq``, so each answer carries what is new.

Who may watch (signed-in sessions only, like the host page):

==============================  =====================================================
caller                          answer
==============================  =====================================================
anonymous                       401 ``UNAUTHORIZED``
``Authorization: Bearer`` key   403 ``FORBIDDEN`` (keys read ``/api/workflows/...``)
staff session                   every run (as ``/api/runs/``)
other session                   only runs it started (``Run.principal`` = ``user:<name>``)
run not visible / unknown       404 ``RUN_NOT_FOUND`` (never 403: ids do not leak)
==============================  =====================================================

Errors use the oRPC error object (``defined, code, status, message, data``), so the host
turns them into ``ORPCError`` instances like ``/rpc`` errors.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.views.decorators.http import require_GET

from rawr_site.contract.errors import RawrError
from rawr_site.host.principals import bearer_token, principal_for_user
from workflows.admin.run_page_parts import pending_approval, waiting_for
from workflows.ids import is_safe_id
from workflows.models import Run
from workflows.selectors import timeline_list

POLL_SECONDS = 0.4
#: Timeline events per answer; the next poll (``after``) fetches the rest at once.
PAGE_SIZE = 200
MAX_SEQ = 2**31 - 1


def _error(error: RawrError) -> JsonResponse:
    response = JsonResponse(error.body(defined=error.code == "RUN_NOT_FOUND"), status=error.status)
    response["Cache-Control"] = "no-store"
    return response


def _visible_run(request: HttpRequest, run_id: str) -> Run:
    """The run if this session may watch it; raises the 400/401/403/404 ``RawrError``."""
    if bearer_token(request) is not None:
        raise RawrError(
            "FORBIDDEN",
            403,
            "The run watch is for signed-in browser sessions; API keys read "
            "/api/workflows/<capability>/runs/<runId>",
        )
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        raise RawrError("UNAUTHORIZED", 401, "Sign in to watch runs")
    if not is_safe_id(run_id):
        raise RawrError("INVALID_RUN_ID", 400, "Invalid run id", {"runId": run_id})
    runs = Run.objects.filter(pk=run_id)
    if not user.is_staff:
        runs = runs.filter(principal=principal_for_user(user).label())
    run = runs.first()
    if run is None:
        raise RawrError("RUN_NOT_FOUND", 404, f"Run {run_id} not found", {"runId": run_id})
    return run


def _after(request: HttpRequest) -> int:
    raw = request.GET.get("after", "0")
    if not raw.isdigit() or int(raw) > MAX_SEQ:
        raise RawrError("BAD_REQUEST", 400, "`after` must be a timeline sequence number")
    return int(raw)


def _etag(run: Run, after: int) -> str:
    """Changes whenever the status or the timeline does (every status change writes a
    timeline event, and ``next_seq`` grows with each)."""
    return f'"{run.status}.{run.next_seq}.{after}"'


def _snapshot(run: Run, after: int) -> dict[str, Any]:
    events = list(timeline_list(run=run, after_seq=after)[:PAGE_SIZE])
    waiting = waiting_for(run, pending_approval(run)) if not run.is_finished else None
    error = {k: v for k, v in (run.error or {}).items() if k != "traceback"} or None
    return {
        "runId": run.pk,
        "functionId": run.function_id,
        "capability": run.capability,
        "status": run.status,
        "output": run.output,
        "error": error,
        "waitingFor": (
            {"kind": waiting.kind, "text": waiting.text, "stepId": waiting.step_id or None}
            if waiting
            else None
        ),
        "events": [
            {
                "seq": e.seq,
                "type": e.type,
                "stepId": e.step_id,
                "payload": e.payload,
                "at": e.created_at.isoformat(),
            }
            for e in events
        ],
        # More events than one page: the client asks again at once.
        "more": len(events) == PAGE_SIZE,
        "finished": run.is_finished,
    }


@require_GET
def run_watch(request: HttpRequest, run_id: str) -> HttpResponse:
    try:
        run = _visible_run(request, run_id)
        after = _after(request)
    except RawrError as error:
        return _error(error)
    known = request.headers.get("If-None-Match", "")
    deadline = time.monotonic() + float(settings.RAWR_RUN_WATCH_WAIT_SECONDS)
    while _etag(run, after) == known and not run.is_finished:
        if time.monotonic() >= deadline:
            response: HttpResponse = HttpResponseNotModified()
            response["ETag"] = known
            response["Cache-Control"] = "no-cache"
            return response
        # Give the pooled connection back while waiting: a watcher must not hold one.
        if not connection.in_atomic_block:
            connection.close()
        time.sleep(POLL_SECONDS)
        fresh = Run.objects.filter(pk=run.pk).first()
        if fresh is None:
            return _error(RawrError("RUN_NOT_FOUND", 404, f"Run {run_id} not found"))
        run = fresh
    response = JsonResponse(_snapshot(run, after))
    response["ETag"] = _etag(run, after)
    response["Cache-Control"] = "no-cache"
    return response
