"""How the console shows times, durations, statuses and stored JSON.

One module so every page agrees: times to the second with a relative form ("3 min ago"),
durations in ms / s / min, JSON folded and truncated. Every function takes whatever a
client managed to store (``None``, naive datetimes, huge or odd JSON) and returns safe HTML.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

#: Status → badge colour class (see ``static/console/console.css``).
STATUS_CLASSES = {
    "queued": "queued",
    "running": "running",
    "sleeping": "waiting",
    "waiting": "waiting",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
    "pending": "pending",
    "skipped": "skipped",
    "approved": "completed",
    "rejected": "failed",
    "expired": "cancelled",
}

#: Characters of JSON shown before "show all".
JSON_PREVIEW_CHARS = 400


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def exact_time(value: datetime | None) -> str:
    """``2026-12-01 03:45:12`` in the site's time zone; ``-`` for nothing."""
    if value is None:
        return "-"
    return timezone.localtime(_aware(value)).strftime("%Y-%m-%d %H:%M:%S")


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """``12 s ago``, ``3 min ago``, ``in 2 h``, ``5 d ago``."""
    if value is None:
        return ""
    now = now or timezone.now()
    delta = (now - _aware(value)).total_seconds()
    future = delta < 0
    seconds = abs(delta)
    if seconds < 1:
        return "now"
    if seconds < 60:
        text = f"{int(seconds)} s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        text = f"{int(seconds // 3600)} h"
    else:
        text = f"{int(seconds // 86400)} d"
    return f"in {text}" if future else f"{text} ago"


def when(value: datetime | None) -> SafeString:
    """A ``<time>`` element: exact time to the second plus the relative form."""
    if value is None:
        return mark_safe('<span class="rawr-none">-</span>')
    value = _aware(value)
    return format_html(
        '<time datetime="{}" title="{}">{} <span class="rawr-ago">{}</span></time>',
        value.isoformat(),
        value.isoformat(),
        exact_time(value),
        relative_time(value),
    )


def duration(value: timedelta | float | int | None) -> str:
    """``850 ms``, ``1.25 s``, ``3 min 5 s``, ``2 h 3 min``; seconds when given a number."""
    if value is None:
        return "-"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0:
        seconds = 0.0
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def span(start: datetime | None, end: datetime | None) -> str:
    """Duration between two times; ``-`` while either is missing."""
    if start is None or end is None:
        return "-"
    return duration(_aware(end) - _aware(start))


def status_badge(status: str | None) -> SafeString:
    status = str(status or "unknown")
    return format_html(
        '<span class="rawr-badge rawr-{}">{}</span>', STATUS_CLASSES.get(status, "unknown"), status
    )


def json_text(value: Any) -> str:
    """Pretty JSON of any stored value (falls back to ``repr`` for what JSON cannot hold)."""
    try:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def folded_json(value: Any, preview_chars: int = JSON_PREVIEW_CHARS) -> SafeString:
    """JSON folded into ``<details>``: a one-line preview, the full text on "show all"."""
    if value is None:
        return mark_safe('<span class="rawr-none">-</span>')
    text = json_text(value)
    compact = " ".join(text.split())
    if len(text) <= preview_chars and "\n" not in text.strip():
        return format_html('<code class="rawr-json">{}</code>', text)
    preview = compact if len(compact) <= 120 else compact[:120] + "…"
    return format_html(
        '<details class="rawr-json"><summary><code>{}</code> <span class="rawr-more">'
        "show all ({} chars)</span></summary><pre>{}</pre></details>",
        preview,
        len(text),
        text,
    )
