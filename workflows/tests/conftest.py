"""Unit tests drive the real engine in-process (inline dispatch); see workflows.testing."""

from __future__ import annotations

import pytest

from workflows import testing


@pytest.fixture(autouse=True)
def inline_dispatch(settings):
    settings.RAWR_WORKFLOWS_DISPATCH = "inline"
    testing.clear()
    yield
    testing.clear()
