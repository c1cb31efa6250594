"""``openapi-typescript`` types of the published schema type a strict TypeScript client.

``tests/e2e/node/typed_client.ts`` makes the calls of the generated-client test (search,
the enrich trigger with an ``Idempotency-Key``, run polling, coordination queue/approve,
``/api/runs`` paging) typed only by what ``openapi-typescript`` (pinned in
``tests/e2e/node/package.json``) derives from ``openapi/rawr.yaml``. It must compile with
``tsc --strict --noEmit`` (TypeScript pinned there too): optional inputs stay optional,
outputs are nullable rather than optional, statuses and error codes are unions, and each
``@ts-expect-error`` in the script must still be an error.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.prerequisites import missing_prerequisite

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "typed_client.ts"
SCHEMA = ROOT / "openapi" / "rawr.yaml"
TSC_FLAGS = [
    "--strict",
    "--noEmit",
    "--target",
    "es2022",
    "--module",
    "esnext",
    "--moduleResolution",
    "bundler",
    "--lib",
    "es2022,dom",
]


def _bin(name: str) -> Path:
    if shutil.which("node") is None:
        missing_prerequisite("`node` is not on PATH: openapi-typescript and tsc need Node.js")
    path = NODE_DIR / "node_modules" / ".bin" / name
    if not path.exists():
        missing_prerequisite(f"{name} is not installed: run `npm ci` in {NODE_DIR}")
    return path


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=NODE_DIR, capture_output=True, text=True, timeout=120, check=False
    )


def test_openapi_typescript_types_compile_a_strict_client(tmp_path) -> None:
    openapi_typescript, tsc = _bin("openapi-typescript"), _bin("tsc")
    generated = _run([str(openapi_typescript), str(SCHEMA), "-o", str(tmp_path / "rawr-api.ts")])
    assert generated.returncode == 0, generated.stdout + generated.stderr
    script = tmp_path / SCRIPT.name
    shutil.copy(SCRIPT, script)

    compiled = _run([str(tsc), *TSC_FLAGS, str(script)])

    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
