"""Fixtures for every test in the repository (the test packages have their own too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

# For every test package (capabilities' own tests included), each registered once so the
# session shares one Celery worker and one Chromium: ``inline_dispatch`` (workflows.testing),
# the real-worker fixtures (tests/workers.py) and the browser fixtures (tests/browser/fixtures.py).
pytest_plugins = ["workflows.testing", "tests.workers", "tests.browser.fixtures"]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Every test starts with an empty cache: the console reuses dashboard figures and
    keeps bulk-job locks there, which must not leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()
