"""Running the oRPC client scripts of ``tests/e2e/node/`` and reading their one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"


def run_node_script(node: str, script: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``node script`` with ``env`` added; fail the test with its stderr on any problem."""
    try:
        proc = subprocess.run(
            [node, str(script)],
            cwd=NODE_DIR,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script.name} did not finish in {timeout}s; stderr:\n{exc.stderr}")
    if proc.returncode != 0:
        pytest.fail(f"{script.name} exited {proc.returncode}; stderr:\n{proc.stderr}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"{script.name} did not print JSON:\n{proc.stdout}\n{proc.stderr}")
