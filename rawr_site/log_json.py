"""JSON log lines (``RAWR_LOG_FORMAT=json``): one object per line for a log pipeline.

Every line carries the request's correlation id (``rawr_site.log_context``), so a
trigger's web request, the run's worker lines and the access log line can be joined on
it. Fields: ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``message``,
``correlation_id``, ``process``, ``thread``; ``exception`` when there is one; anything
passed with ``extra={...}`` as it is (``str()`` for what JSON cannot carry). gunicorn's
access lines (``gunicorn.access``) add ``method``, ``path``, ``status``, ``bytes``,
``duration_ms``, ``remote`` and ``request_id`` (the response's ``X-Request-ID``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has: not "extra" fields.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "correlation_id", "taskName"}
)


def _access_fields(args: dict[str, Any]) -> dict[str, Any]:
    """gunicorn hands its access-log atoms as the record's args (a dict)."""
    fields: dict[str, Any] = {
        "method": args.get("m"),
        "path": args.get("U"),
        "query": args.get("q") or None,
        "status": _int_or_none(args.get("s")),
        "bytes": _int_or_none(args.get("B")),
        "duration_ms": _int_or_none(args.get("M")),
        "remote": args.get("h"),
        "user_agent": args.get("a"),
        "request_id": args.get("{x-request-id}o"),
    }
    return {key: value for key, value in fields.items() if value not in (None, "", "-")}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", "-"),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            entry.update(_access_fields(record.args))
            # The access line's request id is this request's correlation id.
            entry["correlation_id"] = entry.get("request_id", entry["correlation_id"])
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
