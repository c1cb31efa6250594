"""Safe ids for runs (and, in coordination, workflows, desks, handoffs)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import StringConstraints

SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
SAFE_ID_RE = re.compile(SAFE_ID_PATTERN)

#: A caller-supplied id: letters, digits, ``.``, ``_``, ``-``; at most 128 characters.
SafeId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]


def is_safe_id(value: object) -> bool:
    # fullmatch: re's "$" also matches before a trailing newline ("run-1\n" is not safe).
    return isinstance(value, str) and SAFE_ID_RE.fullmatch(value) is not None


def new_run_id() -> str:
    return f"run_{uuid.uuid4().hex}"
