from django.apps import AppConfig


class HostConfig(AppConfig):
    """Host-owned models (API keys) and the ``rawr`` management command."""

    name = "rawr_site.host"
    label = "rawr"
    verbose_name = "RAWR host"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rawr_site.host import checks  # noqa: F401  (registers system checks)
