"""A NUL character anywhere a client can put one is a 400, never a 500 (Postgres text
columns cannot hold it), and nothing is written."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from tests.factories import staff_client
from workflows.models import Approval, Run

pytestmark = pytest.mark.django_db

CONSOLE_GETS = [
    "/admin/workflows/run/%00/change/",
    "/admin/workflows/run/a%00b/live/",
    "/admin/workflows/run/?q=%00",
    "/admin/coordination/workflowversion/versions/%00/",
    "/admin/workflows/approval/%00/change/",
    "/admin/?window=%00",
]


@pytest.mark.parametrize("url", CONSOLE_GETS)
def test_console_pages_answer_400_for_a_nul_in_path_or_query(url: str) -> None:
    response = staff_client(superuser=True).get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/admin/approvals/", {"approval_id": "apr\x00", "decision": "approve"}),
        ("/admin/workflows/run/%00/cancel/", {}),
        ("/admin/workflows/run/_bulk/cancel/", {"status": "\x00"}),
    ],
)
def test_console_forms_answer_400_for_a_nul_and_change_nothing(url: str, form: dict) -> None:
    response = staff_client(superuser=True).post(url, form)
    assert response.status_code == 400
    assert not Run.objects.exists() and not Approval.objects.exists()
    assert not LogEntry.objects.exists()


def test_api_paths_answer_the_json_error_shape() -> None:
    response = staff_client(superuser=True).get("/api/runs/?status=%00")
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"
    assert "NUL character" in response.json()["message"]
