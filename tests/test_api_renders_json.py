"""The published DRF APIs answer JSON to every caller, browsers included."""

from __future__ import annotations

import pytest

from tests.factories import staff_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/api/runs/", "/api/approvals/", "/api/runs/nope/"])
def test_a_browser_asking_for_html_gets_json(url: str) -> None:
    response = staff_client(superuser=True).get(url, HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response["Content-Type"].startswith("application/json"), url
    response.json()
