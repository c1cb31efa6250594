"""`make serve` for real: scripts/serve.sh against the test database and the session's broker.

It migrates, collects static files, starts gunicorn, a worker and the scheduler in
production mode; the test reads the probes, a vendored static file, triggers a run over
HTTP that the served worker completes, then sends Ctrl-C (SIGINT) and every process is
gone. Marked ``broker``: it runs on Redis and on RabbitMQ.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from capabilities.search.models import Document
from tests.factories import issue_key
from tests.prerequisites import missing_prerequisite
from tests.workers import _free_port, _test_database_url
from workflows.models import Run

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.django_db(transaction=True)]

SERVED_APP_NAME = "rawr-serve-e2e"
STRONG_KEY = "serve-e2e-k3N9qT7vXz2bLp8RfYwA1sD4gH6jM0nC5eU7iO9pQxZyV"


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path):
    """``bash scripts/serve.sh`` in its own session; yields (base URL, process, log path).

    A test may override its environment with ``@pytest.mark.parametrize("served", [{...}],
    indirect=True)``."""
    if settings.RAWR_EMBEDDED_DB or settings.RAWR_EMBEDDED_BROKER:
        missing_prerequisite(
            "make serve needs DATABASE_URL and CELERY_BROKER_URL (make test sets both)"
        )
    port = _free_port()
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(
            os.environ["DATABASE_URL"], connection.settings_dict["NAME"]
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # A queue of its own: the served worker never takes the session's messages.
        "RAWR_CELERY_QUEUE": f"{settings.CELERY_TASK_DEFAULT_QUEUE}-serve",
        "RAWR_ENV": "production",
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "RAWR_DATA_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "RAWR_WORKER_CONCURRENCY": "1",
        "RAWR_LOG_FORMAT": "json",
        # libpq names every connection of the served processes (counted by a test).
        "PGAPPNAME": SERVED_APP_NAME,
        **getattr(request, "param", {}),
    }
    env.pop("TEST_DATABASE_NAME", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=40)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _wait_serving(log_path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while "RAWR HQ is serving" not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"make serve did not come up:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)


def test_make_serve_answers_probes_static_files_and_triggers_then_stops_on_ctrl_c(
    served,
) -> None:
    base, process, log_path = served
    document = Document.objects.create(title="Served", body="gunicorn workers serve durable runs")
    key = issue_key(name="serve-e2e")
    _wait_serving(log_path, process)
    headers = {"Authorization": f"Bearer {key.secret}", "Connection": "close"}

    live = requests.get(base + "/livez", headers={"Host": "10.0.0.9"}, timeout=5)
    ready = requests.get(base + "/readyz", timeout=10)
    script = requests.get(base + "/static/vendor/orpc-client/orpc-client.js", timeout=5)
    licence = requests.get(base + "/static/vendor/cytoscape/LICENSE", timeout=5)
    triggered = requests.post(
        base + "/api/workflows/search/enrich",
        json={"documentId": document.pk},
        headers={**headers, "X-Request-ID": "serve-e2e-1"},
        timeout=10,
    )

    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"]["ok"] and ready.json()["broker"]["ok"]
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert licence.headers["Content-Type"].startswith("text/plain")
    assert triggered.status_code == 202, triggered.text
    run_id = triggered.json()["runId"]
    deadline = time.monotonic() + 30
    while Run.objects.get(pk=run_id).status != "completed":
        assert time.monotonic() < deadline, log_path.read_text(errors="replace")
        time.sleep(0.2)
    assert Run.objects.get(pk=run_id).correlation_id == "serve-e2e-1"

    process.send_signal(signal.SIGINT)  # what Ctrl-C sends the script
    code = process.wait(timeout=40)

    text = log_path.read_text(errors="replace")
    assert code == 130, text
    assert "==> stopped" in text
    # JSON lines: the trigger's access line and the worker's line share the request id.
    assert '"logger": "gunicorn.access"' in text and '"request_id": "serve-e2e-1"' in text
    assert f"run {run_id}: completed" in text
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the group is left


BURST = 500
BURST_ENV = {
    "WEB_CONCURRENCY": "2",
    "RAWR_WEB_THREADS": "4",
    "RAWR_DB_POOL_MAX": "4",
    "RAWR_WORKER_CONCURRENCY": "2",
}
#: What the served processes may hold at most, whatever the number of requests: each web
#: process its pool (2 x 4), each worker child one connection and one for its lease keeper
#: thread (2 x 2), the worker's sweeper and scheduler threads (2), the standalone
#: scheduler (1).
CONNECTION_BOUND = 2 * 4 + 2 * 2 + 2 + 1


def _served_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [SERVED_APP_NAME],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("served", [BURST_ENV], indirect=True)
def test_five_hundred_concurrent_triggers_are_all_accepted_and_run_within_the_pools(
    served,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    base, process, log_path = served
    document = Document.objects.create(title="Burst", body="five hundred triggers at once")
    key = issue_key(name="serve-burst")
    _wait_serving(log_path, process)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=50, pool_maxsize=50)
    session.mount("http://", adapter)
    peak = [0]
    sampling = [True]

    def sample() -> None:
        try:
            while sampling[0]:
                peak[0] = max(peak[0], _served_connections())
                time.sleep(0.05)
        finally:
            # This thread's connection goes back to the test process's pool (a thread
            # that keeps one would starve later tests that need several at once).
            connection.close()

    def trigger(_: int) -> requests.Response:
        return session.post(
            base + "/api/workflows/search/enrich",
            json={"documentId": document.pk},
            headers={"Authorization": f"Bearer {key.secret}"},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=51) as pool:
        sampler = pool.submit(sample)
        started = time.monotonic()
        responses = list(pool.map(trigger, range(BURST)))
        burst_seconds = time.monotonic() - started
        statuses = {r.status_code for r in responses}
        run_ids = [r.json()["runId"] for r in responses if r.status_code == 202]
        deadline = time.monotonic() + 180
        while Run.objects.filter(pk__in=run_ids, status="completed").count() < len(run_ids):
            assert time.monotonic() < deadline, "the served worker did not finish the runs"
            time.sleep(0.5)
        sampling[0] = False
        sampler.result()

    print(
        f"\n{BURST} concurrent triggers against make serve: {statuses} in {burst_seconds:.1f} s, "
        f"all {len(run_ids)} runs completed; served connections peaked at {peak[0]} "
        f"(bound {CONNECTION_BOUND})"
    )
    assert statuses == {202}, {r.status_code: r.text for r in responses if r.status_code != 202}
    assert len(set(run_ids)) == BURST
    assert 0 < peak[0] <= CONNECTION_BOUND
