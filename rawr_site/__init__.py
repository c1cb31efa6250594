"""RAWR HQ host: settings, URL composition, the Celery app and the capability toolkit."""

from rawr_site.celery import app as celery_app

__all__ = ["celery_app"]
