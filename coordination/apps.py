from django.utils.module_loading import autodiscover_modules

from rawr_site.contract import apps as rawr_apps


class CoordinationConfig(rawr_apps.CapabilityConfig):
    """Desk-graph workflows. Host-owned, but its contract is derived like a capability's."""

    name = "coordination"
    label = "coordination"
    verbose_name = "Coordination"

    def ready(self) -> None:
        super().ready()
        # Desk handlers live in ``desks.py`` of any app (registration raises on duplicates).
        autodiscover_modules("desks")
        import coordination.run_columns  # the run list's workflow-id column
        import coordination.run_panel  # noqa: F401  (the run page's desk graph panel)
