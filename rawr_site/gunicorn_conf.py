"""gunicorn settings for production: ``gunicorn -c rawr_site/gunicorn_conf.py rawr_site.wsgi``.

Threads (``gthread``), not more processes, carry the concurrency: every process has one
psycopg pool of ``RAWR_DB_POOL_MAX`` connections (default: its ``RAWR_WEB_THREADS``), so
the web tier holds at most ``WEB_CONCURRENCY x RAWR_DB_POOL_MAX`` database connections
however many requests arrive; a burst waits for a pooled connection, and a request that
gets none within ``RAWR_DB_POOL_TIMEOUT`` is a 503 with ``Retry-After``.

Environment: ``PORT`` / ``RAWR_WEB_BIND`` (bind address), ``WEB_CONCURRENCY`` (processes,
default 2), ``RAWR_WEB_THREADS`` (threads per process, default 4), ``RAWR_WEB_TIMEOUT``
(seconds before a silent worker is restarted, default 30), ``RAWR_WEB_ACCESS_LOG``
(``-`` = stdout, the default; empty disables it).
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


bind = os.environ.get("RAWR_WEB_BIND") or f"0.0.0.0:{_int('PORT', 8000)}"
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("RAWR_WEB_THREADS", 4)
worker_class = "gthread"
# Longer than RAWR_DB_POOL_TIMEOUT, so a request waiting for a connection answers 503
# itself instead of being killed by gunicorn mid-wait.
timeout = _int("RAWR_WEB_TIMEOUT", 30)
graceful_timeout = _int("RAWR_WEB_GRACEFUL_TIMEOUT", 20)
keepalive = _int("RAWR_WEB_KEEPALIVE", 5)
# Pending connections beyond the threads wait in the kernel's accept queue.
backlog = _int("RAWR_WEB_BACKLOG", 2048)
# Recycle processes now and then (jittered so they do not restart together).
max_requests = _int("RAWR_WEB_MAX_REQUESTS", 5000)
max_requests_jitter = _int("RAWR_WEB_MAX_REQUESTS_JITTER", 500)

accesslog = os.environ.get("RAWR_WEB_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The request id every response carries (rawr_site.middleware.CorrelationIdMiddleware).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s ua="%(a)s"'
# Django sits behind a proxy in production: trust its X-Forwarded-* only from there.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn >= 25 opens a control socket at one per-user path by default, which a second
# server on the same host would take over: opt in with a path of this server's own.
_control_socket = os.environ.get("RAWR_WEB_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True

# RAWR_LOG_FORMAT=json: gunicorn's own lines (errors, access) are JSON objects like the
# application's (rawr_site/log_json.py); an access line carries the request id.
if os.environ.get("RAWR_LOG_FORMAT", "").lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "rawr_site.log_json.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
            },
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
        "root": {"level": loglevel.upper(), "handlers": ["console"]},
    }
