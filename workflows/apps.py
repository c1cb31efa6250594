from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.utils.module_loading import autodiscover_modules


class WorkflowsConfig(AppConfig):
    """The durable runtime. ``ready()`` autodiscovers ``workflows.py`` in every app."""

    name = "workflows"
    verbose_name = "Durable workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The diagnostic function for `rawr doctor`, and the start-up checks of declarations.
        from workflows import builtin, checks  # noqa: F401

        autodiscover_modules("workflows")
        for module in settings.RAWR_WORKFLOW_MODULES:
            import_module(module)
        _install_worker_steps()


def _install_worker_steps() -> None:
    """Every worker runs the sweeper bootstep.

    The runtime adds it to the host's Celery app here (the app may import the host, the
    host never imports the app). Celery's Django fixup runs ``django.setup()`` (hence this
    ``ready()``) before the worker builds its blueprint from ``app.steps["worker"]``, a set,
    so a second ``ready()`` adds nothing.
    """
    from rawr_site.celery import app
    from workflows.worker import SweeperStep

    app.steps["worker"].add(SweeperStep)
