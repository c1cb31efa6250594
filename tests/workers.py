"""Real processes for end-to-end and browser tests: Celery workers and a private Redis.

``celery_worker_process`` runs ``celery -A rawr_site worker`` as a subprocess for the whole
session. It talks to the broker in ``CELERY_BROKER_URL`` and to pytest-django's *test*
database, so what a test enqueues is executed for real and lands where the test can read
it. Tests that use it must be ``@pytest.mark.django_db(transaction=True)`` (the worker only
sees committed rows) and ``@pytest.mark.e2e``.
"""

from __future__ import annotations

import contextlib
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection

from tests.prerequisites import missing_prerequisite

READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
#: Durable functions of the e2e tests, imported by every worker started here.
E2E_FLOWS_MODULE = "tests.e2e.flows"


@dataclass(frozen=True)
class WorkerProcess:
    """A running worker: its node name (as in task results) and its log file."""

    hostname: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def mail_dir(self) -> Path:
        return self.log_path.with_suffix(".mail")

    def sent_mail(self) -> list[email.message.Message]:
        """Mail the worker sent: Django's file backend writes into ``mail_dir`` (locmem
        would stay in the worker's memory), one file per connection, messages separated
        by a line of 79 dashes."""
        found = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_text(errors="replace").split("\n" + "-" * 79 + "\n"):
                if chunk.strip():
                    found.append(email.message_from_string(chunk))
        return found


def _test_database_url(database_url: str, test_name: str) -> str:
    """``DATABASE_URL`` pointed at pytest-django's test database (``test_rawr``)."""
    return urlsplit(database_url)._replace(path="/" + quote(test_name)).geturl()


def _worker_replies(hostname: str) -> bool:
    from rawr_site.celery import app

    return bool(app.control.ping(destination=[hostname], timeout=0.5))


def _worker_ready(worker: WorkerProcess, broker_url: str) -> bool:
    """Ping on the configured broker; on another one, read the worker's "ready." line
    (Celery publishes control messages through the app's own broker whatever connection
    it is given, and ``CELERY_BROKER_URL`` in the environment overrides any app's URL)."""
    if broker_url == settings.CELERY_BROKER_URL:
        return _worker_replies(worker.hostname)
    if f"{worker.hostname} ready." in worker.log():
        return True
    time.sleep(0.1)
    return False


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


def start_worker(
    *,
    log_dir: Path,
    queues: str | None = None,
    broker_url: str | None = None,
    env: dict[str, str] | None = None,
    concurrency: int = 2,
    wait_ready: bool = True,
) -> WorkerProcess:
    """Start ``celery -A rawr_site worker`` on the test database (in its own process group).

    The worker imports the e2e durable functions (``tests.e2e.flows``). ``env`` overrides
    its environment (e.g. ``RAWR_RUN_LEASE_SECONDS``); ``broker_url`` defaults to the
    configured broker. Returns once the worker is ready to consume.
    """
    broker_url = broker_url or settings.CELERY_BROKER_URL
    queues = queues or settings.CELERY_TASK_DEFAULT_QUEUE
    hostname = f"rawr-e2e-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log_path = log_dir / f"{hostname.split('@')[0]}.log"
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rawr_site.settings",
        "DATABASE_URL": _test_database_url(
            os.environ["DATABASE_URL"], connection.settings_dict["NAME"]
        ),
        "CELERY_BROKER_URL": broker_url,
        # Durable functions that only tests define reach the worker the way they reach us.
        "RAWR_WORKFLOW_MODULES": ",".join(
            dict.fromkeys([*settings.RAWR_WORKFLOW_MODULES, E2E_FLOWS_MODULE])
        ),
        "PYTHONUNBUFFERED": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(log_path.with_suffix(".mail")),
        # No scheduler unless a test asks (its clock is real; schedule tests move theirs).
        "RAWR_SCHEDULER_INTERVAL": "0",
        **(env or {}),
    }
    full_env.pop("TEST_DATABASE_NAME", None)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "rawr_site",
        "worker",
        "--loglevel=INFO",
        f"--hostname={hostname}",
        f"--queues={queues}",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = WorkerProcess(hostname=hostname, process=process, log_path=log_path)
    if not wait_ready:
        return worker
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not _worker_ready(worker, broker_url):
            if process.poll() is not None:
                pytest.fail(f"celery worker exited with {process.returncode}:\n{worker.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"celery worker did not answer a ping in time:\n{worker.log()}")
    except BaseException:
        _stop(process)
        raise
    return worker


def _skip_without_real_services() -> None:
    if settings.RAWR_EMBEDDED_DB or settings.RAWR_EMBEDDED_BROKER:
        reason = (
            "the worker e2e tests need DATABASE_URL (Postgres) and CELERY_BROKER_URL "
            "(Redis or RabbitMQ); `make test` sets both"
        )
        missing_prerequisite(reason)


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A real Celery worker consuming the ``celery`` queue of the configured broker.

    Depends on ``django_db_setup`` so it starts after the test database exists and is
    stopped before pytest-django drops it (Postgres refuses to drop a database in use).
    The worker inherits the environment, and ``settings.RAWR_WORKFLOW_MODULES``.
    """
    _skip_without_real_services()
    worker = start_worker(log_dir=tmp_path_factory.mktemp("celery-worker"))
    try:
        yield worker
    finally:
        _stop(worker.process)


@pytest.fixture
def dedicated_worker(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: ``dedicated_worker(queues=..., env=..., broker_url=...)`` starts an extra
    worker for this test only (a test may SIGKILL it: ``os.killpg(w.process.pid, 9)``).
    Every worker it started is stopped when the test ends."""
    _skip_without_real_services()
    started: list[WorkerProcess] = []
    log_dir = tmp_path_factory.mktemp("dedicated-worker")

    def start(**kwargs) -> WorkerProcess:
        kwargs.setdefault("concurrency", 1)
        worker = start_worker(log_dir=log_dir, **kwargs)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in reversed(started):
            _stop(worker.process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private ``redis-server`` (no persistence) that a test can stop and restart."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start:\n{self.log_path.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A dedicated, running ``redis-server`` on a free port (stopped after the test)."""
    if shutil.which("redis-server") is None:
        missing_prerequisite("redis-server is not installed")
    server = RedisServer(_free_port(), tmp_path / "redis-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
