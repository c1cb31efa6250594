"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory, issue_key


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def external_key(db):
    """An external integrator's key (all capabilities)."""
    return issue_key(name="integrator")


@pytest.fixture
def service_token(db):
    """A first-party service token (may call /rpc without CSRF)."""
    return issue_key(name="service", first_party=True)


@pytest.fixture
def session_client(user) -> Client:
    """A logged-in client that enforces CSRF like a browser; see ``csrf_headers``."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_headers(client: Client) -> dict[str, str]:
    """Fetch the CSRF token the way an MFE does and return the header to send."""
    token = client.get("/api/auth/csrf").json()["csrfToken"]
    return {"HTTP_X_CSRFTOKEN": token}
