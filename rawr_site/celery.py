"""The Celery app (``celery -A rawr_site worker``).

Configuration comes from Django settings (``CELERY_*``); tasks are autodiscovered in every
installed app, capabilities included. Apps add their worker bootsteps from their own
``AppConfig.ready()`` (``app.steps["worker"].add(...)``), which Celery's Django fixup runs
before the worker builds its blueprint: the host never imports an app.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rawr_site.settings")

# The embedded broker: registered under its own scheme so ``rawrfs://`` works for both
# the web process (producer) and the worker (consumer).
TRANSPORT_ALIASES.setdefault("rawrfs", "rawr_site.embedded_broker:Transport")

app = Celery("rawr_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
