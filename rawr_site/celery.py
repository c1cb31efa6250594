"""The Celery app (``celery -A rawr_site worker``).

Configuration comes from Django settings (``CELERY_*``); tasks are autodiscovered in every
installed app, capabilities included. Apps add their worker bootsteps from their own
``AppConfig.ready()`` (``app.steps["worker"].add(...)``), which Celery's Django fixup runs
before the worker builds its blueprint: the host never imports an app.

Database connections: a worker does not use the web processes' psycopg pool (a pool's
threads and sockets do not survive the prefork fork, and Celery's Django fixup would close
it around tasks). When a worker starts, ``_worker_connections`` swaps it for one
persistent connection per pool child (``RAWR_WORKER_CONN_MAX_AGE``), recycled by the
fixup every ``CELERY_DB_REUSE_MAX`` tasks: the worker holds concurrency + 1 connections.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rawr_site.settings")

# The embedded broker: registered under its own scheme so ``rawrfs://`` works for both
# the web process (producer) and the worker (consumer).
TRANSPORT_ALIASES.setdefault("rawrfs", "rawr_site.embedded_broker:Transport")

app = Celery("rawr_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def _worker_connections(**_kwargs: Any) -> None:
    """Persistent connections instead of the pool, before the worker opens any.

    ``celeryd_init`` fires in the main process before Django is set up and before the pool
    children fork; Django's connections share these settings dicts, so they see the change.
    """
    from django.conf import settings

    for database in settings.DATABASES.values():
        options = database.get("OPTIONS") or {}
        if not options.pop("pool", None):
            continue
        database["CONN_MAX_AGE"] = settings.RAWR_WORKER_CONN_MAX_AGE
