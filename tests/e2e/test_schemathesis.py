"""Schemathesis fuzzes every published operation of ``openapi/rawr.yaml`` and finds nothing.

A live server (pytest-django's ``live_server``, real Postgres) answers; Schemathesis runs
the examples, coverage and fuzzing phases with every check (server errors, undocumented
statuses, content types and headers, response schemas, schema-valid input refused,
schema-invalid input accepted, authentication ignored, ...), a fixed seed and a small
example budget, authenticated with an API key of every scope. Tuning the schema cannot
express lives in ``tests/e2e/schema/schemathesis.toml``, each entry with its reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import issue_key

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "openapi" / "rawr.yaml"
CONFIG = Path(__file__).resolve().parent / "schema" / "schemathesis.toml"
SEED = 20261201
MAX_EXAMPLES = 8
TIMEOUT_SECONDS = 240


def schemathesis_command(base_url: str, report_dir: Path) -> list[str]:
    """The command line (quoted in the closing note of issue 10)."""
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        str(SCHEMA),
        "--url",
        base_url,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-database",
        "none",
        "--no-shrink",
        # One worker: hypothesis parses lambdas' source with `ast` while it builds
        # strategies, and CPython 3.11's parser is not safe across threads.
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        "--no-color",
    ]


def test_schemathesis_finds_nothing_on_any_published_operation(live_server, tmp_path) -> None:
    key = issue_key(name="schemathesis")
    command = schemathesis_command(live_server.url, tmp_path)
    command[command.index("--no-color") : command.index("--no-color")] = [
        "--header",
        f"Authorization: Bearer {key.secret}",
        # A fresh connection per request: on a kept-alive one the test server's small
        # writes meet delayed ACKs (~40 ms a request, a 10 s run becomes 70 s).
        "--header",
        "Connection: close",
    ]
    proc = subprocess.run(
        command,
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-20000:]
    tested = re.search(r"Selected: (\d+)/(\d+)", output)
    assert tested and tested.group(1) == tested.group(2), output[-3000:]
    cases = re.search(r"(\d+) generated", output)
    assert cases and int(cases.group(1)) > 300, output[-3000:]
    assert "unique failure" not in output, output[-3000:]
