"""Start-up checks of durable function declarations (``manage.py check``, every start).

A declaration that would make runs wait forever is refused before the process serves or
consumes anything, with the function named.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from workflows import _registry
from workflows._triggers import queue_of


@register("workflows")
def check_queues(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """With ``RAWR_QUEUES`` set, every function's queue must be one that workers consume."""
    known = set(settings.RAWR_QUEUES)
    if not known:
        return []
    known.add(settings.CELERY_TASK_DEFAULT_QUEUE)
    errors = []
    for function in _registry.all_functions():
        queue = queue_of(function) or settings.CELERY_TASK_DEFAULT_QUEUE
        if queue not in known:
            errors.append(
                Error(
                    f"durable function {function.id!r} sends its runs to queue {queue!r}, "
                    "which no worker consumes",
                    hint=f"Add it to RAWR_QUEUES ({', '.join(sorted(known))}) and start a "
                    f"worker with `celery -A rawr_site worker -Q {queue}`.",
                    id="workflows.E001",
                )
            )
    for capability, queue in settings.RAWR_CAPABILITY_QUEUES.items():
        if queue not in known:
            errors.append(
                Error(
                    f"RAWR_CAPABILITY_QUEUES sends capability {capability!r} to unknown "
                    f"queue {queue!r}",
                    hint="Add it to RAWR_QUEUES.",
                    id="workflows.E002",
                )
            )
    return errors
