"""Browser fixtures (a pytest plugin registered by the root ``conftest.py``): Debian's
Chromium (``/usr/bin/chromium``) under Playwright, for ``tests/browser`` and for the browser
tests a capability keeps in its own ``tests/`` (``startcapability`` generates one).
Registered once, so the whole session shares one Chromium.

The browser is never downloaded (``playwright install`` cannot work without internet):
``scripts/browser.sh`` installs the Debian package, and without it these tests skip, or
fail when ``CI`` is set. Pages are served by pytest-django's ``live_server``, so tests
that use them must be ``@pytest.mark.django_db(transaction=True)`` (the server thread only
sees committed rows) and ``@pytest.mark.e2e``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import StaffUserFactory
from tests.prerequisites import missing_prerequisite

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's
#: Playwright's wait for a selector or an ``expect``: pages come from a local server.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session; every test gets its own context (profile).

    Playwright's sync API keeps an asyncio loop marked as running in this thread, which
    Django takes for an async context and refuses ORM calls in (``SynchronousOnlyOperation``)
    even though nothing here is async: the check is switched off while the browser lives.
    """
    if not CHROMIUM.exists():
        missing_prerequisite(
            f"{CHROMIUM} is missing: run scripts/browser.sh (Debian package chromium)"
        )
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            # A plain launch starts from a fresh, temporary user-data dir.
            expect.set_options(timeout=TIMEOUT_MS)
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def staff_user(transactional_db, settings):
    # The default hasher costs ~0.5 s per login; these tests are about the admin, not it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return StaffUserFactory(is_superuser=True)


def log_in(page: Page, username: str, password: str) -> None:
    """Fill and submit the real admin login form, as staff would."""
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def anonymous_page(browser: Browser, live_server) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies) whose relative URLs hit live_server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def staff_page(anonymous_page: Page, live_server, staff_user) -> Page:
    """``anonymous_page`` after logging in through the admin login form as a superuser."""
    log_in(anonymous_page, staff_user.username, STAFF_PASSWORD)
    expect(anonymous_page).to_have_url(f"{live_server.url}/admin/")
    return anonymous_page
