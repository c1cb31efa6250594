"""The console's index: figures about runs, each a link into the filtered run list.

Registered as a dashboard panel (``admin.site.register_panel``): it reads the figures from
``workflows.stats`` (bounded windows, aggregated in SQL), turns them into links and
server-rendered SVG (``workflows.admin.charts``) and hands the index page
``dashboard_template``. Staff without ``workflows.view_run`` get no panel at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from workflows import stats
from workflows.admin import charts
from workflows.admin.display import duration, exact_time, relative_time

TEMPLATE = "admin/workflows/dashboard.html"


def _iso(value: datetime) -> str:
    """``2026-12-01T03:00:00Z``: the run list's ``since`` / ``until`` format."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def runs_url(**filters: Any) -> str:
    """The run list filtered by ``filters`` (the console's query parameters)."""
    base = reverse("admin:workflows_run_changelist")
    params = {
        key: _iso(value) if isinstance(value, datetime) else str(value)
        for key, value in filters.items()
        if value not in (None, "")
    }
    return f"{base}?{urlencode(params, safe=':')}" if params else base


def _approvals_url() -> str | None:
    for name in ("admin:approvals", "admin:workflows_approval_changelist"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def _count(value: int, cap: int = stats.COUNT_CAP) -> str:
    return f"{cap:,}+" if value > cap else f"{value:,}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _rate(value: float) -> str:
    if value < 1:
        return f"{value:.2f}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _width(value: timedelta) -> str:
    """``1 min``, ``30 min``, ``6 h``: a bucket's width."""
    minutes = int(value.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes} min"


def _span_label(start: datetime, end: datetime) -> str:
    return f"{exact_time(start)} to {exact_time(end)[11:]}"


def _tick(window: stats.Window, start: datetime) -> str:
    local = timezone.localtime(start)
    if window.key == "1h":
        return local.strftime("%H:%M") if local.minute % 10 == 0 else ""
    if window.key == "24h":
        return local.strftime("%H:%M") if local.minute == 0 and local.hour % 3 == 0 else ""
    return local.strftime("%a %d") if local.hour == 0 else ""


@dataclass
class StatusFigure:
    status: str
    count: str
    href: str
    color: str


@dataclass
class FunctionRow:
    function_id: str
    finished: str
    failed: str
    failure_rate: str
    failure_share: float
    p50: str
    p95: str
    href: str
    failed_href: str


def _status_chart(bounds: stats.Bounds, buckets: list[stats.StatusBucket]) -> SafeString:
    bars = []
    for bucket in buckets:
        lines = [_span_label(bucket.start, bucket.end), f"{bucket.total:,} runs created"]
        lines += [
            f"{bucket.counts[key]:,} {key}" for key in charts.STACK_ORDER if bucket.counts.get(key)
        ]
        bars.append(
            charts.Bar(
                values=bucket.counts,
                href=runs_url(since=bucket.start, until=bucket.end),
                title="\n".join(lines),
                tick=_tick(bounds.window, bucket.start),
                extra={"since": _iso(bucket.start), "until": _iso(bucket.end)},
            )
        )
    return charts.stacked_bars(
        bars,
        charts.status_series(),
        label=f"Runs created per {_width(bounds.window.bucket)} by status, {bounds.window.label}",
    )


@dataclass
class WindowFigures:
    """The window's aggregates (the expensive part), as computed at ``bounds.now``."""

    bounds: stats.Bounds
    buckets: list[stats.StatusBucket]
    throughput: stats.Throughput
    functions: list[stats.FunctionStats]


def window_figures(window: stats.Window) -> WindowFigures:
    """The window's aggregates, reused for ``window.cache_seconds`` within one bucket.

    The key holds the window's end, so a new bucket always starts from fresh figures; the
    page says when they were computed. Stuck, queued and approvals are always live.
    """
    bounds = stats.window_bounds(window=window)
    key = f"rawr:dashboard:{window.key}:{int(bounds.end.timestamp())}"
    if window.cache_seconds:
        cached = cache.get(key)
        if isinstance(cached, WindowFigures):
            return cached
    figures = WindowFigures(
        bounds=bounds,
        buckets=stats.run_status_buckets(bounds=bounds),
        throughput=stats.run_throughput(bounds=bounds),
        functions=stats.function_stats(start=bounds.start, end=bounds.end),
    )
    if window.cache_seconds:
        cache.set(key, figures, window.cache_seconds)
    return figures


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """Every figure of the dashboard for ``?window=`` (default 24 h), ready to render."""
    window = stats.window_get(request.GET.get("window"))
    figures = window_figures(window)
    bounds, buckets = figures.bounds, figures.buckets
    throughput, functions = figures.throughput, figures.functions
    since = bounds.start
    totals = stats.status_totals(buckets)
    now = timezone.now()
    oldest = stats.oldest_queued_run()
    stuck = stats.stuck_run_count(now=now)

    finished = sum(row.finished for row in functions)
    failed = sum(row.failed for row in functions)
    user = request.user
    approvals: dict[str, Any] | None = None
    if user.has_perm("workflows.view_approval") or user.has_perm("workflows.decide_approval"):
        pending = stats.pending_approval_count()
        approvals = {"count": _count(pending), "raw": pending, "href": _approvals_url()}

    return {
        "window": window,
        "windows": [
            {"key": w.key, "label": w.key, "href": f"?window={w.key}", "current": w is window}
            for w in stats.WINDOWS.values()
        ],
        "start": bounds.start,
        "end": bounds.end,
        "as_of": exact_time(bounds.now),
        "cached_for": window.cache_seconds,
        "window_href": runs_url(since=since),
        "created": f"{sum(totals.values()):,}",
        "statuses": [
            StatusFigure(
                status=key,
                count=f"{totals.get(key, 0):,}",
                href=runs_url(status=key, since=since),
                color=charts.STATUS_COLORS[key],
            )
            for key in stats.STATUS_ORDER
        ],
        "chart": _status_chart(bounds, buckets),
        "legend": charts.legend(charts.status_series()),
        "bucket_label": _width(window.bucket),
        "throughput": {
            "per_minute": _rate(throughput.per_minute),
            "current": _rate(throughput.current_per_minute),
            "current_minutes": stats.CURRENT_RATE_MINUTES,
            "total": f"{throughput.total:,}",
            "spark": charts.sparkline(
                throughput.per_bucket,
                label="Runs finished per bucket",
                color=charts.STATUS_COLORS["running"],
            ),
            "href": runs_url(since=since),
        },
        "failure": {
            "rate": _percent(failed / finished) if finished else "-",
            "failed": f"{failed:,}",
            "finished": f"{finished:,}",
            "href": runs_url(status="failed", since=since),
        },
        "stuck": {"count": _count(stuck), "raw": stuck, "href": runs_url(stuck="yes")},
        "oldest": (
            {
                "run_id": oldest.run_id,
                "age": relative_time(oldest.created_at, now).removesuffix(" ago"),
                "since": exact_time(oldest.created_at),
                "href": reverse("admin:workflows_run_change", args=[quote(oldest.run_id)]),
                "list_href": runs_url(status="queued"),
            }
            if oldest
            else {"list_href": runs_url(status="queued")}
        ),
        "approvals": approvals,
        "functions": [
            FunctionRow(
                function_id=row.function_id,
                finished=f"{row.finished:,}",
                failed=f"{row.failed:,}",
                failure_rate=_percent(row.failure_rate),
                failure_share=round(row.failure_rate * 100, 1),
                p50=duration(row.p50),
                p95=duration(row.p95),
                href=runs_url(function_id=row.function_id, since=since),
                failed_href=runs_url(function_id=row.function_id, since=since, status="failed"),
            )
            for row in functions
        ],
    }


def dashboard_panel(request: HttpRequest) -> dict[str, Any] | None:
    """The index page's runs figures, or ``None`` without ``workflows.view_run``."""
    if not request.user.has_perm("workflows.view_run"):
        return None
    return {"dashboard_template": TEMPLATE, "dashboard": dashboard_context(request)}


admin.site.register_panel(dashboard_panel, order=10)
