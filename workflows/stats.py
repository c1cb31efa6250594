"""Figures for the console's dashboard, read in bounded time windows and aggregated in SQL.

Why this shape: the runs table holds millions of rows, so every figure reads one bounded
range of an index (``created_at`` or ``finished_at`` within the window, the queued runs by
age, the active runs by lease) and lets the database group and count; nothing here counts
the whole table or loads rows to count them in Python. On Postgres the window queries are
index-only scans of the covering indexes ``wf_run_created_cover`` (created_at INCLUDE
status, function_id) and ``wf_run_finished_cover`` (finished_at INCLUDE function_id,
status, started_at). SQLite (the embedded default) runs the same queries; only the
percentiles differ (Postgres ``percentile_cont``; on SQLite the same interpolation from
two ``OFFSET`` reads of the sorted durations per function).

Windows are half-open ``[start, end)`` ranges cut into buckets aligned to the epoch (UTC),
so a bucket's link to the run list (``since``/``until``) selects exactly the runs its bar
counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Q,
)
from django.utils import timezone

from workflows.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    Approval,
    ApprovalStatus,
    Run,
    RunStatus,
)

#: Every status, in the order charts stack and legends list them.
STATUS_ORDER: tuple[str, ...] = tuple(RunStatus.values)

#: Counts that could be large (stuck runs, pending approvals) stop here ("10000+").
COUNT_CAP = 10_000

#: Functions listed in the per-function table (most finished runs first).
MAX_FUNCTIONS = 25

#: "Current" throughput: runs finished per minute over this many recent minutes.
CURRENT_RATE_MINUTES = 5


@dataclass(frozen=True)
class Window:
    """A dashboard time window: how far back, and how wide each bar is."""

    key: str
    label: str
    span: timedelta
    bucket: timedelta
    #: How long the console may reuse this window's figures (0: computed on every view).
    #: A day or a week of runs can be a quarter of a million-row table to aggregate
    #: (~250 ms on Postgres); figures half a minute old are as good as fresh ones for
    #: these windows, and the page says when they were computed. Stuck runs, the oldest
    #: queued run and pending approvals are always live.
    cache_seconds: int = 0

    @property
    def buckets(self) -> int:
        return int(self.span / self.bucket)


WINDOWS: dict[str, Window] = {
    "1h": Window("1h", "last hour", timedelta(hours=1), timedelta(minutes=1)),
    "24h": Window(
        "24h", "last 24 hours", timedelta(hours=24), timedelta(minutes=30), cache_seconds=30
    ),
    "7d": Window("7d", "last 7 days", timedelta(days=7), timedelta(hours=6), cache_seconds=60),
}
DEFAULT_WINDOW = "24h"


@dataclass(frozen=True)
class Bounds:
    """``[start, end)`` of a window, ``end`` being the end of the bucket holding ``now``."""

    window: Window
    start: datetime
    end: datetime
    now: datetime

    def bucket_start(self, index: int) -> datetime:
        return self.start + index * self.window.bucket


def window_get(key: str | None) -> Window:
    """The window named ``key`` (``1h``, ``24h``, ``7d``); the default for anything else."""
    return WINDOWS.get(key or "", WINDOWS[DEFAULT_WINDOW])


def window_bounds(*, window: Window, now: datetime | None = None) -> Bounds:
    """Bucket-aligned bounds ending with the (partial) bucket that holds ``now``."""
    now = now or timezone.now()
    size = int(window.bucket.total_seconds())
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp((epoch // size + 1) * size, tz=UTC)
    return Bounds(window=window, start=end - window.span, end=end, now=now)


# -- SQL building blocks ------------------------------------------------------------------


class _BucketStart(Func):
    """The start of the fixed-width bucket (aligned on ``origin``) a timestamp falls in.

    Postgres has ``date_bin`` (timestamp arithmetic; several times faster than numeric
    epoch arithmetic over a window's rows); SQLite gets the same from integer epoch
    seconds. Bucket widths are whole seconds, so truncating fractions is exact.
    """

    output_field = DateTimeField()

    def __init__(self, column: str, *, origin: datetime, width: timedelta) -> None:
        super().__init__(F(column))
        self.origin = origin
        self.width = width

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        raise NotImplementedError(
            f"buckets are written for Postgres and SQLite, not {connection.vendor}"
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date_bin(%s::interval, {sql}, %s::timestamptz)", [self.width, *params, self.origin]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        origin, width = int(self.origin.timestamp()), int(self.width.total_seconds())
        # Rows of a window are >= origin, so integer division is floor here.
        return (
            f"datetime(%s + ((CAST(strftime('%%s', {sql}) AS INTEGER) - %s) / %s) * %s,"
            " 'unixepoch')",
            [origin, *params, origin, width, width],
        )


def _bucket_index(bucket_start: datetime, bounds: Bounds) -> int:
    return int((bucket_start - bounds.start) / bounds.window.bucket)


class _PercentileCont(Aggregate):
    """Postgres ``percentile_cont(p) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    output_field = DurationField()

    def __init__(self, expression: Any, fraction: float) -> None:
        self.fraction = float(fraction)
        super().__init__(expression)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY {sql})", params


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())


def _created_in(bounds: Bounds) -> Any:
    return Run.objects.filter(created_at__gte=bounds.start, created_at__lt=bounds.end).order_by()


def _finished_in(start: datetime, end: datetime) -> Any:
    return Run.objects.filter(
        finished_at__gte=start, finished_at__lt=end, status__in=FINISHED_STATUSES
    ).order_by()


# -- runs by status over time -------------------------------------------------------------


@dataclass
class StatusBucket:
    """One bar: runs created in ``[start, end)`` by status."""

    start: datetime
    end: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def run_status_buckets(*, bounds: Bounds) -> list[StatusBucket]:
    """Runs created in the window, counted per bucket and status (one grouped query)."""
    buckets = [
        StatusBucket(start=bounds.bucket_start(i), end=bounds.bucket_start(i + 1))
        for i in range(bounds.window.buckets)
    ]
    rows = (
        _created_in(bounds)
        .annotate(
            bucket=_BucketStart("created_at", origin=bounds.start, width=bounds.window.bucket)
        )
        .values("bucket", "status")
        .annotate(n=Count("*"))
    )
    for row in rows:
        index = _bucket_index(row["bucket"], bounds)
        if 0 <= index < len(buckets):
            counts = buckets[index].counts
            counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
    return buckets


def status_totals(buckets: list[StatusBucket]) -> dict[str, int]:
    """Counts per status over all ``buckets`` (every status present, zero when none)."""
    totals = dict.fromkeys(STATUS_ORDER, 0)
    for bucket in buckets:
        for status, n in bucket.counts.items():
            totals[status] = totals.get(status, 0) + n
    return totals


# -- throughput ---------------------------------------------------------------------------


@dataclass
class Throughput:
    """Runs finished in the window: per bucket, per minute on average, and right now."""

    per_bucket: list[int]
    total: int
    per_minute: float
    current_per_minute: float


def run_throughput(*, bounds: Bounds) -> Throughput:
    """Finished runs per bucket of the window, plus the rate over the last few minutes."""
    per_bucket = [0] * bounds.window.buckets
    rows = (
        _finished_in(bounds.start, bounds.end)
        .annotate(
            bucket=_BucketStart("finished_at", origin=bounds.start, width=bounds.window.bucket)
        )
        .values("bucket")
        .annotate(n=Count("*"))
    )
    for row in rows:
        index = _bucket_index(row["bucket"], bounds)
        if 0 <= index < len(per_bucket):
            per_bucket[index] += row["n"]
    total = sum(per_bucket)
    recent = _finished_in(
        bounds.now - timedelta(minutes=CURRENT_RATE_MINUTES), bounds.now + timedelta(seconds=1)
    ).count()
    return Throughput(
        per_bucket=per_bucket,
        total=total,
        per_minute=total / (bounds.window.span.total_seconds() / 60),
        current_per_minute=recent / CURRENT_RATE_MINUTES,
    )


# -- per function -------------------------------------------------------------------------


@dataclass
class FunctionStats:
    """Runs of one function that finished in the window."""

    function_id: str
    finished: int
    failed: int
    p50: timedelta | None
    p95: timedelta | None

    @property
    def failure_rate(self) -> float:
        """Failed share of the finished runs (cancelled ones count as finished)."""
        return self.failed / self.finished if self.finished else 0.0


def _interpolate(low: timedelta, high: timedelta, weight: float) -> timedelta:
    return low + (high - low) * weight


def _percentiles_by_offset(
    start: datetime, end: datetime, function_id: str, fractions: tuple[float, ...]
) -> list[timedelta | None]:
    """``percentile_cont`` without it: the two neighbouring ranks, read by ``OFFSET``.

    Reads at most two rows per fraction however many runs finished, so SQLite stays
    bounded too; the interpolation is Postgres' (rank ``p * (n - 1)``).
    """
    durations = (
        _finished_in(start, end)
        .filter(function_id=function_id, started_at__isnull=False)
        .annotate(duration=_duration())
    )
    n = durations.count()
    if n == 0:
        return [None for _ in fractions]
    ordered = durations.order_by("duration").values_list("duration", flat=True)
    result: list[timedelta | None] = []
    for fraction in fractions:
        rank = fraction * (n - 1)
        low = math.floor(rank)
        pair = list(ordered[low : low + 2])
        if len(pair) == 1:
            pair.append(pair[0])
        result.append(_interpolate(pair[0], pair[1], rank - low))
    return result


#: Memory for the percentile sort: a day of finished runs is ~9 MB of (function, duration)
#: pairs at a million runs; at Postgres's default 4 MB ``work_mem`` the sort spills to disk.
SORT_WORK_MEM = "32MB"


@contextmanager
def _sort_memory() -> Iterator[None]:
    """On Postgres, raise ``work_mem`` for this transaction only (``SET LOCAL``)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{SORT_WORK_MEM}'")
        yield


def function_stats(*, start: datetime, end: datetime) -> list[FunctionStats]:
    """Finished, failed and p50/p95 duration per function for runs finished in the window.

    Most active functions first, at most ``MAX_FUNCTIONS``. Durations are ``finished_at -
    started_at`` (runs that never started, e.g. cancelled while queued, have none).
    """
    runs = _finished_in(start, end).values("function_id")
    postgres = connection.vendor == "postgresql"
    aggregates: dict[str, Any] = {
        "finished": Count("*"),
        "failed": Count("status", filter=Q(status=RunStatus.FAILED)),
    }
    if postgres:
        aggregates["p50"] = _PercentileCont(_duration(), 0.5)
        aggregates["p95"] = _PercentileCont(_duration(), 0.95)
    with _sort_memory():
        rows = list(
            runs.annotate(**aggregates).order_by("-finished", "function_id")[:MAX_FUNCTIONS]
        )
    stats = []
    for row in rows:
        if postgres:
            p50, p95 = row["p50"], row["p95"]
        else:
            p50, p95 = _percentiles_by_offset(start, end, row["function_id"], (0.5, 0.95))
        stats.append(
            FunctionStats(
                function_id=row["function_id"],
                finished=row["finished"],
                failed=row["failed"],
                p50=p50,
                p95=p95,
            )
        )
    return stats


# -- attention: queued, stuck, approvals --------------------------------------------------


@dataclass(frozen=True)
class OldestQueued:
    run_id: str
    created_at: datetime


def oldest_queued_run() -> OldestQueued | None:
    """The queued run waiting longest (one row from the status + created_at index)."""
    row = (
        Run.objects.filter(status=RunStatus.QUEUED)
        .order_by("created_at")
        .values("id", "created_at")
        .first()
    )
    return OldestQueued(run_id=row["id"], created_at=row["created_at"]) if row else None


def stuck_run_count(*, now: datetime | None = None, cap: int = COUNT_CAP) -> int:
    """Active runs whose lease expired (the run list's ``stuck=yes``), counted up to ``cap + 1``."""
    now = now or timezone.now()
    stuck = Run.objects.filter(status__in=ACTIVE_STATUSES, lease_expires_at__lt=now).order_by()
    return stuck.values("pk")[: cap + 1].count()


def pending_approval_count(*, cap: int = COUNT_CAP) -> int:
    """Approvals waiting for a decision, counted up to ``cap + 1``."""
    pending = Approval.objects.filter(status=ApprovalStatus.PENDING).order_by()
    return pending.values("pk")[: cap + 1].count()
