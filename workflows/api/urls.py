"""Routes of the runs API; ``rawr_site.urls`` mounts them at ``api/runs/``."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from workflows.api.views import RunViewSet

router = SimpleRouter()
router.register("", RunViewSet, basename="workflows-run")

urlpatterns = router.urls
