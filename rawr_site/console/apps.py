"""Replaces ``django.contrib.admin`` in ``INSTALLED_APPS`` so ``admin.site`` is the console."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "rawr_site.console.site.ConsoleSite"
