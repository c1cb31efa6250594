"""Fixtures for end-to-end tests: real processes on the real broker and database.

``celery_worker_process`` runs ``celery -A rawr_site worker`` as a subprocess for the whole
session. It talks to the broker in ``CELERY_BROKER_URL`` and to pytest-django's *test*
database, so what a test enqueues is executed for real and lands where the test can read
it. Tests that use it must be ``@pytest.mark.django_db(transaction=True)`` (the worker only
sees committed rows) and ``@pytest.mark.e2e``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection

READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class WorkerProcess:
    """A running worker: its node name (as in task results) and its log file."""

    hostname: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _test_database_url(database_url: str, test_name: str) -> str:
    """``DATABASE_URL`` pointed at pytest-django's test database (``test_rawr``)."""
    return urlsplit(database_url)._replace(path="/" + quote(test_name)).geturl()


def _worker_replies(hostname: str) -> bool:
    from rawr_site.celery import app

    return bool(app.control.ping(destination=[hostname], timeout=0.5))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM), then SIGKILL for the whole process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    # The group is ours alone (start_new_session): it holds the pool children.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A real Celery worker consuming the ``celery`` queue of the configured broker.

    Depends on ``django_db_setup`` so it starts after the test database exists and is
    stopped before pytest-django drops it (Postgres refuses to drop a database in use).
    The worker inherits the environment, and ``settings.RAWR_WORKFLOW_MODULES``.
    """
    if settings.RAWR_EMBEDDED_DB or settings.RAWR_EMBEDDED_BROKER:
        reason = (
            "the worker e2e tests need DATABASE_URL (Postgres) and CELERY_BROKER_URL "
            "(Redis or RabbitMQ); `make test` sets both"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)

    hostname = f"rawr-e2e-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rawr_site.settings",
        "DATABASE_URL": _test_database_url(
            os.environ["DATABASE_URL"], connection.settings_dict["NAME"]
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_DATABASE_NAME", None)
    # Durable functions that only tests define reach the worker the way they reach us.
    if settings.RAWR_WORKFLOW_MODULES:
        env["RAWR_WORKFLOW_MODULES"] = ",".join(settings.RAWR_WORKFLOW_MODULES)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "rawr_site",
        "worker",
        "--loglevel=INFO",
        f"--hostname={hostname}",
        "--queues=celery",
        "--pool=prefork",
        "--concurrency=2",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = WorkerProcess(hostname=hostname, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not _worker_replies(hostname):
            if process.poll() is not None:
                pytest.fail(f"celery worker exited with {process.returncode}:\n{worker.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"celery worker did not answer a ping in time:\n{worker.log()}")
        yield worker
    finally:
        _stop(process)
