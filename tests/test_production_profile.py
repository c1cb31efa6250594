"""The production profile: refusal of unsafe settings, probes, static files, JSON logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from rawr_site.celery import app as celery_app
from rawr_site.log_context import CorrelationIdFilter, reset_current, set_current
from rawr_site.log_json import JsonFormatter
from rawr_site.production import unsafe_production_settings
from tests.prerequisites import missing_prerequisite

STRONG_KEY = "k3N9-qT7vXz2bLp8RfYwA1sD4gH6jM0nC5eU7iO9pQxZyVbTr-w8"


def _start_in_production(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings the way gunicorn, Celery and manage.py do, in a fresh process."""
    full_env = {
        **os.environ,
        "RAWR_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "rawr_site.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=settings.BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_debug_a_default_secret_key_and_empty_allowed_hosts() -> None:
    done = _start_in_production(DEBUG="1", SECRET_KEY="", ALLOWED_HOSTS="")

    assert done.returncode != 0
    assert "ImproperlyConfigured: RAWR_ENV=production refuses unsafe settings" in done.stderr
    assert "DEBUG is on" in done.stderr
    assert "SECRET_KEY is not set" in done.stderr
    assert "ALLOWED_HOSTS is empty" in done.stderr


def test_production_starts_with_safe_settings() -> None:
    done = _start_in_production(DEBUG="", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="rawr.example")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "started"


@pytest.mark.parametrize(
    ("secret_key", "allowed_hosts", "expected"),
    [
        ("rawr-development-only-secret-key-not-for-production-use-0123456789", ["a"], "SECRET"),
        ("django-insecure-" + STRONG_KEY, ["a"], "SECRET_KEY"),
        ("short-key", ["a"], "SECRET_KEY"),
        ("a" * 60, ["a"], "SECRET_KEY"),
        (STRONG_KEY, ["*"], "ALLOWED_HOSTS contains '*'"),
    ],
)
def test_weak_keys_and_wildcard_hosts_are_refused(secret_key, allowed_hosts, expected) -> None:
    problems = unsafe_production_settings(
        debug=False,
        secret_key=secret_key,
        known_insecure_keys={"rawr-development-only-secret-key-not-for-production-use-0123456789"},
        allowed_hosts=allowed_hosts,
    )

    assert len(problems) == 1 and expected in problems[0]


def test_liveness_answers_any_host_without_touching_the_database() -> None:
    response = Client().get("/livez", HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readiness_is_200_when_database_and_broker_answer() -> None:
    if settings.RAWR_EMBEDDED_BROKER:
        missing_prerequisite("needs CELERY_BROKER_URL (make test sets it)")
    response = Client().get("/readyz", HTTP_HOST="10.0.0.7")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"]


@pytest.mark.django_db
def test_readiness_is_503_json_when_the_broker_is_unreachable() -> None:
    configured = celery_app.conf.broker_write_url
    celery_app.conf.broker_write_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = Client().get("/readyz")
    finally:
        celery_app.conf.broker_write_url = configured

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False and body["broker"]["error"]


def test_probes_answer_other_methods_with_a_json_405() -> None:
    response = Client().post("/readyz")

    assert response.status_code == 405
    assert response.json() == {"status": "method not allowed"}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/vendor/orpc-client/orpc-client.js", "text/javascript"),
        ("/static/console/console.css", "text/css"),
        ("/static/admin/css/base.css", "text/css"),
        ("/static/rawr/types/search.d.ts", "text/plain"),
        ("/static/vendor/cytoscape/LICENSE", "text/plain"),
        ("/static/vendor/orpc-client/LICENSE.radash", "text/plain"),
    ],
)
def test_static_files_are_served_with_their_types(path, content_type) -> None:
    response = Client().get(path)

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    assert "max-age" in response["Cache-Control"]


def _record(name: str, msg: str, args=(), **extra) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_json_log_lines_carry_the_correlation_id_and_extra_fields() -> None:
    token = set_current("req-42")
    try:
        record = _record("rawr.http", "run %s queued", ("r1",), run_id="r1")
        CorrelationIdFilter().filter(record)  # what the configured handler runs
    finally:
        reset_current(token)

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "run r1 queued"
    assert entry["correlation_id"] == "req-42"
    assert entry["run_id"] == "r1"
    assert entry["level"] == "INFO" and entry["logger"] == "rawr.http"
    assert entry["ts"].endswith("+00:00")


def test_json_access_lines_name_the_request() -> None:
    atoms = {"m": "POST", "U": "/api/runs/", "s": "202", "M": "12", "{x-request-id}o": "req-7"}
    record = _record("gunicorn.access", "%(m)s", (atoms,))

    entry = json.loads(JsonFormatter().format(record))

    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/api/runs/", 202)
    assert entry["duration_ms"] == 12
    assert entry["correlation_id"] == entry["request_id"] == "req-7"
