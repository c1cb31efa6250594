"""URL composition. Mount order is explicit and matters: the first match wins.

Everything under ``/rpc`` and ``/api`` answers JSON errors (see ``rawr_site.middleware``).
Capability routes are derived from the manifest's contracts; nothing here names one.
"""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from rawr_site import surfaces
from rawr_site.health import healthz
from rawr_site.host.api_views import CsrfTokenView, WhoAmIView
from rawr_site.schema import schema_permission_classes

handler400 = "rawr_site.errors_views.handler400"
handler403 = "rawr_site.errors_views.handler403"
handler404 = "rawr_site.errors_views.handler404"
handler500 = "rawr_site.errors_views.handler500"

_schema_perms = schema_permission_classes()

urlpatterns = [
    # 0. operations: liveness/readiness for load balancers and `make run`
    path("healthz", healthz, name="healthz"),
    # 1. workflows surface: published durable-workflow triggers (/api/workflows/<cap>/...)
    path("api/workflows/", surfaces.workflows_api().urls),
    re_path(r"^api/workflows/(?P<rest>.+)$", surfaces.workflows_api().fallback),
    # 2. first-party RPC: every procedure of every capability, oRPC wire format
    path("rpc/", surfaces.rpc_api().urls),
    # 3. published procedures: external ones only, plain JSON REST from the contract
    path("api/orpc/", surfaces.orpc_api().urls),
    # 3b. the same routes when a path param holds an encoded "/" (Django decodes %2F
    #     before routing); the procedure then rejects the param with its own 400
    re_path(r"^api/orpc/(?P<rest>.+)$", surfaces.orpc_api().fallback),
    # 4. DRF resource APIs (runs, steps, timelines) and the caller's identity
    path("api/runs/", include("workflows.api.urls")),
    path("api/approvals/", include("workflows.api.approvals_urls")),
    path("api/schedules/", include("workflows.schedules.api.urls")),
    path("api/auth/whoami", WhoAmIView.as_view(), name="api-whoami"),
    path("api/auth/csrf", CsrfTokenView.as_view(), name="api-csrf"),
    # 5. the published schema (one document: DRF + the derived Ninja routes) and its docs
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=_schema_perms),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=_schema_perms),
        name="swagger-ui",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", permission_classes=_schema_perms),
        name="redoc",
    ),
    # 6. the coordination console
    path("admin/", admin.site.urls),
    # 7. the MFE host: the run watch MFEs long-poll (contributed by workflows), then the
    #    host's login, MFE module files and the shell itself (/rawr/, /rawr/<cap>/...)
    path("rawr/runs/", include("workflows.watch_urls")),
    path("rawr/", include("rawr_site.mfe.urls")),
]
