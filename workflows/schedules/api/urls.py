"""Routes of the schedules API; ``rawr_site.urls`` mounts them at ``api/schedules/``."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from workflows.schedules.api.views import ScheduleViewSet

router = SimpleRouter()
router.register("", ScheduleViewSet, basename="schedules-schedule")

urlpatterns = router.urls
