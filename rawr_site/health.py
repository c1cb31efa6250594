"""Health probes for load balancers, orchestrators and ``make run`` / ``make serve``.

* ``GET /livez``: liveness. The process answers requests; nothing else is asked (a
  database outage must not make an orchestrator restart every web process). Always 200.
* ``GET /readyz``: readiness. The database and the broker both answer: 200, else 503, so
  a load balancer stops sending triggers to a process that could not queue them.
* ``GET /healthz``: the same as ``/readyz`` (the name ``make run`` and older probes use).

Every answer is JSON. ``ProbeMiddleware`` answers these paths before Django validates the
Host header or redirects to HTTPS: probes come from the orchestrator with the machine's
IP as host, which ``ALLOWED_HOSTS`` rightly does not list.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

# A broker that does not answer within this many seconds counts as unreachable.
BROKER_TIMEOUT_SECONDS = 2


def _check_database() -> dict[str, object]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the reason is reported
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "vendor": connection.vendor, "ms": _ms(started)}


def _check_broker() -> dict[str, object]:
    from rawr_site.celery import app

    started = time.perf_counter()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
            transport = conn.transport_cls
    except Exception as exc:  # kombu raises many types; all mean "unreachable"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "transport": str(transport), "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    database = _check_database()
    broker = _check_broker()
    ok = bool(database["ok"] and broker["ok"])
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "database": database, "broker": broker},
        status=200 if ok else 503,
    )


#: ``/healthz`` predates the split; it is the readiness probe.
healthz = readyz

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/livez": livez,
    "/readyz": readyz,
    "/healthz": readyz,
}


class ProbeMiddleware:
    """Answer the probe paths first, whatever the Host header (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        response = probe(request)
        if response.status_code == 405:
            # require_GET's bare 405 becomes JSON like every other probe answer.
            allow = response.get("Allow", "GET, HEAD")
            response = JsonResponse({"status": "method not allowed"}, status=405)
            response["Allow"] = allow
        response["Cache-Control"] = "no-store"
        return response
