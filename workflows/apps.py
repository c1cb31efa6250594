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
        from workflows import builtin  # noqa: F401  (the diagnostic function for `rawr doctor`)

        autodiscover_modules("workflows")
        for module in settings.RAWR_WORKFLOW_MODULES:
            import_module(module)
