"""Fixtures for every test in the repository (the test packages have their own too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

pytest_plugins = ["workflows.testing"]  # the ``inline_dispatch`` fixture, for every test


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Every test starts with an empty cache: the console reuses dashboard figures and
    keeps bulk-job locks there, which must not leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()
