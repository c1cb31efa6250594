from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    """Cron schedules of durable functions: declared in code or created at run time."""

    name = "workflows.schedules"
    label = "schedules"
    verbose_name = "Schedules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflows.schedules import checks  # noqa: F401  (registers the system checks)

        _install_worker_step()


def _install_worker_step() -> None:
    """Every worker runs the scheduler next to the sweeper (see ``workflows.apps``)."""
    from rawr_site.celery import app
    from workflows.schedules.worker import SchedulerStep

    app.steps["worker"].add(SchedulerStep)
