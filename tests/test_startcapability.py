"""``startcapability`` gives a capability that works end to end with no host edit.

Runs in a copy of the project so the real tree is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "var", "node_modules", ".git", "__pycache__", ".pytest_cache", ".ruff_cache"}

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
print(json.dumps({"made": made.status_code, "got": got.json()["json"]["title"],
                  "missing": missing.json()["code"]}))
"""


def _run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({"RAWR_DATA_DIR": str(copy / "var"), "DJANGO_SETTINGS_MODULE": "rawr_site.settings"})
    return subprocess.run(
        [sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.e2e
def test_new_capability_is_mounted_published_and_tested_without_host_edits(tmp_path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=lambda _d, names: [n for n in names if n in SKIP])
    host_before = {p: p.read_bytes() for p in (copy / "rawr_site").rglob("*.py")}

    made = _run(copy, "manage.py", "startcapability", "inventory")
    assert made.returncode == 0, made.stderr
    assert (copy / "capabilities/inventory/contract.py").exists()
    assert _run(copy, "manage.py", "rawr", "manifest", "--check").returncode == 0
    stale = _run(copy, "manage.py", "rawr", "schema", "--check")
    assert stale.returncode == 1 and "/api/orpc/inventory/items" in stale.stderr

    assert _run(copy, "manage.py", "migrate", "-v0").returncode == 0
    probe = _run(copy, "manage.py", "shell", "-c", PROBE)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == (
        '{"made": 200, "got": "bolt", "missing": "ITEM_NOT_FOUND"}'
    )
    tests = _run(copy, "-m", "pytest", "capabilities/inventory", "-q", "-p", "no:cacheprovider")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout

    again = _run(copy, "manage.py", "startcapability", "inventory")
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    bad = _run(copy, "manage.py", "startcapability", "Not-Valid")
    assert bad.returncode == 2
    host_after = {p: p.read_bytes() for p in (copy / "rawr_site").rglob("*.py")}
    assert host_after == host_before, "no Python file of the host changed"
