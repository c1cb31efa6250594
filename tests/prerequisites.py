"""What an end-to-end test does when its machine lacks something `make test` would install."""

from __future__ import annotations

import os

import pytest


def missing_prerequisite(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where a skip would hide a broken install."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
