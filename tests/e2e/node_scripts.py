"""Running the oRPC client scripts of ``tests/e2e/node/`` and reading their one JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.prerequisites import missing_prerequisite

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


def node_or_skip() -> str:
    """The ``node`` binary: the real oRPC clients need Node.js and ``npm ci``."""
    node = shutil.which("node")
    if node is None:
        missing_prerequisite("`node` is not on PATH: the real oRPC clients need Node.js >= 20")
    for package in ("client", "openapi-client", "contract"):
        if not (NODE_DIR / "node_modules" / "@orpc" / package / "package.json").exists():
            missing_prerequisite(
                f"@orpc/{package} is not installed: run `npm ci` in {NODE_DIR} "
                "(`make test` does it)"
            )
    return node


class ScriptResult:
    """A script's JSON output, with lookups that explain what is missing."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.calls: dict[str, dict[str, Any]] = payload["calls"]

    def value(self, label: str) -> Any:
        record = self.calls[label]
        assert record["ok"], f"{label} threw {record.get('error')} (wire: {record['wire']})"
        return record["value"]

    def error(self, label: str) -> dict[str, Any]:
        record = self.calls[label]
        assert not record["ok"], f"{label} should have thrown, returned {record['value']}"
        return record["error"]

    def wire(self, label: str) -> dict[str, Any]:
        """The one HTTP exchange of ``label``."""
        exchanges = self.calls[label]["wire"]
        assert len(exchanges) == 1, f"{label}: expected one request, got {exchanges}"
        return exchanges[0]
