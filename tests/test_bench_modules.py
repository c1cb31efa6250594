"""``make bench`` is hand-run (bench/README.md); this only keeps its modules importable.

In a subprocess, so the bench's durable function never joins this suite's registry.
"""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

CHECK = """
import django
django.setup()
from django.urls import resolve
import bench.compare
from bench.flows import steps
from bench.urls import raw_trigger
assert steps.id == "bench.steps", steps.id
assert resolve("/bench/raw-trigger").func is raw_trigger
assert resolve("/healthz").url_name == "healthz"
"""


def test_bench_modules_import_and_serve_the_raw_baseline_next_to_the_site() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.site_settings"}
    env.pop("RAWR_WORKFLOW_MODULES", None)
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
