"""The site's URLs plus ``POST /bench/raw-trigger``: the raw baseline of an HTTP trigger.

The baseline does what a hand-rolled job queue does per request: one ``INSERT`` (Django
autocommit: its own transaction, committed before the message goes out, as a durable
trigger commits its run first) and one ``task.delay()``. No authentication, no schema
validation, no timeline: the floor the runtime's trigger is compared with.
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.flows import raw_job
from rawr_site.urls import handler400, handler403, handler404, handler500  # noqa: F401
from rawr_site.urls import urlpatterns as site_urlpatterns

RAW_TABLE = "bench_raw_job"
RAW_TABLE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} "
    "(id bigserial PRIMARY KEY, payload jsonb NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


@csrf_exempt
@require_POST
def raw_trigger(request: HttpRequest) -> JsonResponse:
    payload = json.loads(request.body or b"{}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RAW_TABLE} (payload) VALUES (%s) RETURNING id", [json.dumps(payload)]
        )
        (job_id,) = cursor.fetchone()
    raw_job.delay(job_id)
    return JsonResponse({"accepted": True, "id": job_id}, status=202)


urlpatterns = [path("bench/raw-trigger", raw_trigger), *site_urlpatterns]
