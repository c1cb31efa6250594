"""``/rawr/``: login, MFE module files, then the host page for every other path.

``rawr_site.urls`` mounts this after ``rawr/runs/`` (the run watch, contributed by
``workflows``); the names here are reserved (``registry.RESERVED_NAMES``).
"""

from __future__ import annotations

from django.contrib.auth.views import LogoutView
from django.urls import path

from rawr_site.mfe import views

urlpatterns = [
    path("login/", views.HostLoginView.as_view(), name="rawr-login"),
    path("logout/", LogoutView.as_view(next_page="/rawr/login/"), name="rawr-logout"),
    path("plugins/web/<str:capability>", views.plugin_module, name="rawr-plugin"),
    path("plugins/web/<str:capability>/<path:file>", views.plugin_module, name="rawr-plugin-file"),
    path("", views.host_page, name="rawr-host"),
    path("<str:capability>", views.host_page, name="rawr-mfe"),
    path("<str:capability>/", views.host_page),
    path("<str:capability>/<path:rest>", views.host_page, name="rawr-mfe-route"),
]
