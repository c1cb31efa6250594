"""Django's admin log for console actions: one entry per object acted on.

Every console action (operate a run, decide an approval, save a workflow version) writes
here as well as to the domain's own audit (the run timeline), so "Recent actions" and
``LogEntry`` queries show who did what from the console.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import Model
from django.http import HttpRequest


def log_change(request: HttpRequest, obj: Model, message: str) -> None:
    log_changes(request, [obj], message)


def log_changes(request: HttpRequest, objects: Iterable[Model], message: str) -> None:
    """One ``LogEntry`` per object, written in one ``INSERT``."""
    objects = list(objects)
    if not objects or not request.user.is_authenticated:
        return
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=objects,
        action_flag=CHANGE,
        change_message=message,
        single_object=len(objects) == 1,
    )
