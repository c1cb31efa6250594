"""``startcapability`` gives a capability that works end to end with no host edit.

Runs in a copy of the project so the real tree is never touched (SQLite, no broker: the
generated unit tests run on the inline engine). The generated browser test needs Postgres, a
broker and Chromium of its own, so it is left to the scaffold's users (``pytest
capabilities/NAME``) rather than run in a nested session here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "var", "node_modules", ".git", "__pycache__", ".pytest_cache", ".ruff_cache"}
BIN = Path(sys.executable).parent

#: What ``startcapability inventory`` writes under capabilities/inventory/.
GENERATED = [
    "__init__.py",
    "admin.py",
    "apps.py",
    "client.py",
    "contract.py",
    "desks.py",
    "domain/__init__.py",
    "migrations/0001_initial.py",
    "migrations/__init__.py",
    "models.py",
    "operations/__init__.py",
    "operations/items.py",
    "rawr_cli.py",
    "selectors.py",
    "services.py",
    "tests/__init__.py",
    "tests/test_demo.py",
    "tests/test_desks.py",
    "tests/test_items.py",
    "tests/test_mfe_browser.py",
    "tests/test_process.py",
    "web/index.js",
    "workflows.py",
]
#: The generated files outside the capability that a new capability changes.
REGENERATED = {
    "rawr_site/manifest.json",
    "openapi/rawr.yaml",
    "static/rawr/types/inventory.d.ts",
    "static/rawr/types/rawr-mfe.d.ts",
}

PROBE = """
import json
from django.test import Client
from django.test.utils import setup_test_environment
from tests.factories import issue_key
setup_test_environment()
service = issue_key(name="svc", first_party=True).secret
external = issue_key(name="ext").secret
http = Client()
made = http.post("/api/orpc/inventory/items", data=json.dumps({"title": "bolt"}),
                 content_type="application/json", HTTP_AUTHORIZATION="Bearer " + external)
item_id = made.json()["itemId"]
got = http.post("/rpc/inventory/getItem", data=json.dumps({"json": {"itemId": item_id}}),
                content_type="application/json", HTTP_AUTHORIZATION="Bearer " + service)
missing = http.get("/api/orpc/inventory/items/999", HTTP_AUTHORIZATION="Bearer " + external)
bad = http.post("/api/workflows/inventory/process", data=json.dumps({"itemId": "x"}),
                content_type="application/json", HTTP_AUTHORIZATION="Bearer " + external)
print(json.dumps({"made": made.status_code, "got": got.json()["json"]["title"],
                  "missing": missing.json()["code"], "trigger": bad.status_code}))
"""


def _run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({"RAWR_DATA_DIR": str(copy / "var"), "DJANGO_SETTINGS_MODULE": "rawr_site.settings"})
    return subprocess.run(
        [sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=120
    )


def _tool(copy: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], cwd=copy, capture_output=True, text=True, timeout=60
    )


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and not SKIP.intersection(path.relative_to(root).parts)
    }


@pytest.mark.e2e
def test_new_capability_is_mounted_published_and_tested_without_host_edits(tmp_path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=lambda _d, names: [n for n in names if n in SKIP])
    before = _digests(copy)

    started = time.monotonic()
    made = _run(copy, "manage.py", "startcapability", "inventory")
    elapsed = time.monotonic() - started
    assert made.returncode == 0, made.stderr
    assert elapsed < 15, f"startcapability took {elapsed:.1f}s"  # ~2-3 s unloaded

    package = copy / "capabilities/inventory"
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == (
        GENERATED
    )
    after = _digests(copy)
    changed = {p for p in after if before.get(p) != after[p]}
    outside = {p for p in changed if not p.startswith("capabilities/inventory/")}
    # (Other .d.ts files are rewritten too when the tree's were stale: still generated files.)
    assert outside >= REGENERATED, outside
    assert all(p in REGENERATED or p.startswith("static/rawr/types/") for p in outside), outside
    assert _run(copy, "manage.py", "rawr", "manifest", "--check").returncode == 0
    assert _run(copy, "manage.py", "rawr", "schema", "--check").returncode == 0
    schema = (copy / "openapi/rawr.yaml").read_text()
    assert "/api/workflows/inventory/process:" in schema and "/api/orpc/inventory/items:" in schema

    assert _run(copy, "manage.py", "migrate", "-v0").returncode == 0
    probe = _run(copy, "manage.py", "shell", "-c", PROBE)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == (
        '{"made": 200, "got": "bolt", "missing": "ITEM_NOT_FOUND", "trigger": 400}'
    )
    tests = _run(
        copy, "-m", "pytest", "capabilities/inventory", "-q", "-p", "no:cacheprovider",
        "-m", "not e2e",
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "15 passed, 1 deselected" in tests.stdout
    lint = _tool(copy, "ruff", "check", "capabilities/inventory")
    assert lint.returncode == 0, lint.stdout
    assert _tool(copy, "ruff", "format", "--check", "capabilities/inventory").returncode == 0
    layers = _tool(copy, "lint-imports", "--no-cache")
    assert layers.returncode == 0, layers.stdout

    again = _run(copy, "manage.py", "startcapability", "inventory")
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    bad = _run(copy, "manage.py", "startcapability", "Not-Valid")
    assert bad.returncode == 2
    assert _digests(copy / "rawr_site") == {
        p.removeprefix("rawr_site/"): d for p, d in after.items() if p.startswith("rawr_site/")
    }
