"""Routes of the approvals API; ``rawr_site.urls`` mounts them at ``api/approvals/``.

No trailing slash on actions: ``POST /api/approvals/{approvalId}/decide``.
"""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from workflows.api.approvals import ApprovalViewSet

router = SimpleRouter(trailing_slash=False)
router.register("", ApprovalViewSet, basename="workflows-approval")

urlpatterns = router.urls
