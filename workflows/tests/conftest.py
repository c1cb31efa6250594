"""Unit tests drive the real engine in-process (inline dispatch); see workflows.testing."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _inline(inline_dispatch: None) -> None:
    """Every test here runs its runs in-process (``workflows.testing.inline_dispatch``)."""
