"""The run watch for MFEs; ``rawr_site.urls`` mounts it at ``rawr/runs/`` (before the host)."""

from __future__ import annotations

from django.urls import path

from workflows.watch import run_watch

urlpatterns = [path("<str:run_id>/watch", run_watch, name="rawr-run-watch")]
