"""Cron schedules of durable functions (a Django app, label ``schedules``).

Declare one with ``cron=`` on ``@durable_function`` (or ``declare()``); create, pause,
resume and delete them at run time through ``/api/schedules/``, the console, or
``workflows.schedules.services``. The scheduler (``scheduler.fire_due``) runs in every
worker and in ``manage.py rawr scheduler``; each tick starts exactly one run, whose
idempotency key is ``schedule:<id>:<tick>``.
"""

from __future__ import annotations

from workflows.schedules.declarations import declare, temporarily_declared

__all__ = ["declare", "temporarily_declared"]
