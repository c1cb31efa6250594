"""Example CoordinationWorkflowV1 documents (valid, ready to import as demo data).

- ``linear-review.json``: analysis -> execution -> qa.
- ``fanout-approval.json``: analysis fanning out to two desks, a join, a human-wait desk,
  then a final desk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["EXAMPLE_FILES", "example_documents"]

EXAMPLES_DIR = Path(__file__).resolve().parent
EXAMPLE_FILES = ("linear-review.json", "fanout-approval.json")


def example_documents() -> list[dict[str, Any]]:
    """Fresh copies of the example documents, in ``EXAMPLE_FILES`` order."""
    return [json.loads((EXAMPLES_DIR / name).read_text("utf-8")) for name in EXAMPLE_FILES]
