"""Runs and events in the console.

``RunAdmin`` is composed of the list (``run_list``) and the page (``run_page``); the
modules beside them hold what every console page shares: paging without ``COUNT(*)``
(``paging``), read-only bases (``base``), how values are shown (``display``) and Django's
admin log for actions (``audit``).
"""

from __future__ import annotations

from django.contrib import admin

from workflows.admin.base import FastChangelist
from workflows.admin.events import EventAdmin
from workflows.admin.paging import EstimatedCountPaginator
from workflows.admin.run_list import MAX_ACTION_RUNS, RunListMixin
from workflows.admin.run_page import RunPageMixin
from workflows.models import Event, Run

__all__ = ["MAX_ACTION_RUNS", "EstimatedCountPaginator", "EventAdmin", "RunAdmin"]


@admin.register(Run)
class RunAdmin(RunPageMixin, RunListMixin, FastChangelist):
    """Runs: read-only rows; every change goes through ``workflows.services``."""


admin.site.register(Event, EventAdmin)

# Modules that register console pages on import: the approvals inbox and Approval admin,
# and the dashboard panel on the index.
from workflows.admin import approvals, dashboard  # noqa: E402, F401
