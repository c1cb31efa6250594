"""Server time of the console's pages at a million runs. Not a test: run it by hand.

    .venv/bin/python bench/admin_pages.py            # rawr_bench on the local Postgres
    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/admin_pages.py --reps 40

It works on a database of its own (``rawr_bench``, created and migrated if missing;
``BENCH_DATABASE_URL`` overrides), makes sure ``--runs`` seeded runs are there (``manage.py
rawr seed``, so a second run reuses them), logs a superuser in with Django's test
``Client`` in this process and times ``client.get`` of each console page: the whole
request (middleware, view, queries, template), without network or a browser. Pages are
measured interleaved, ``--reps`` times each after ``--warmup`` discarded rounds, next to a
baseline in the same process: a trivial admin page (the empty group list). The table gives
p50, p95, p95 / baseline p95, the status code (a page that answers anything but 200 is
shown, not hidden; a page not built yet is a 404) and the SQL queries of one request.

For every page whose p95 is over ``--budget-ms`` (300), it prints that page's slowest
query with its ``EXPLAIN (ANALYZE, BUFFERS)`` plan, and a profile of one request (when
the time is not in SQL, it is in Python). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rawr_bench"
BENCH_USER = "bench-admin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="seeded runs (1,000,000)")
    parser.add_argument("--big-timelines", type=int, default=2, help="10,000-row timelines (2)")
    parser.add_argument("--reps", type=int, default=20, help="measured repetitions (20)")
    parser.add_argument("--warmup", type=int, default=3, help="discarded repetitions (3)")
    parser.add_argument("--budget-ms", type=float, default=300.0, help="p95 budget (300)")
    parser.add_argument("--only", default="", help="only pages whose label contains this")
    args = parser.parse_args()
    if args.reps < 1 or args.runs < 0:
        parser.error("--reps must be at least 1 and --runs at least 0")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rawr_site.settings")
    sys.path.insert(0, str(BASE_DIR))
    _create_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _analyze()
    load_before = os.getloadavg()
    seeded = _seed(args.runs, args.big_timelines)
    pages = build_pages(seeded.runs)
    if args.only:
        pages = [p for p in pages if args.only in p.label or p.baseline]
    measure(pages, args.reps, args.warmup)
    print()
    print(render(pages, args, seeded, load_before))
    slow = [p for p in pages if p.times and p95(p.times) > args.budget_ms and not p.baseline]
    for page in slow:
        print()
        print(explain(page))
        print()
        print(profile(page))
    return 0


# -- database and data ----------------------------------------------------------------------
def _create_database(url: str) -> None:
    """Create the bench database if missing (Postgres only; SQLite files create themselves)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _analyze() -> None:
    """Fresh statistics (a migration may just have added an index or extended statistics,
    which the planner knows nothing about until ANALYZE)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@dataclass
class Seeded:
    runs: int
    seconds: float
    rows_created: int
    rows_per_second: int
    note: str


def _seed(runs: int, big: int) -> Seeded:
    from coordination.seed import seed_runs

    def progress(done: int, total: int) -> None:
        print(f"\r  seeding {done:,}/{total:,} runs", end="", file=sys.stderr, flush=True)

    report = seed_runs(runs=runs, big_timelines=big, on_progress=progress)
    print(file=sys.stderr)
    data = report.as_json()
    made = data["runs"]["created"]
    note = (
        f"seeded {made:,} runs now ({data['rowsCreated']:,} rows in {data['seconds']:.0f} s, "
        f"{data['rowsPerSecond']:,} rows/s)"
        if made
        else f"reused {data['runs']['existing']:,} seeded runs"
    )
    print(note, file=sys.stderr)
    return Seeded(
        runs=data["runs"]["total"],
        seconds=data["seconds"],
        rows_created=data["rowsCreated"],
        rows_per_second=data["rowsPerSecond"],
        note=note,
    )


# -- the pages ------------------------------------------------------------------------------
@dataclass
class Page:
    label: str
    url: str | None
    baseline: bool = False
    #: Serve with a dummy cache: what a view costs when nothing is reused.
    uncached: bool = False
    why_missing: str = ""
    status: int | None = None
    queries: int | None = None
    times: list[float] = field(default_factory=list)
    captured: list[dict[str, str]] = field(default_factory=list)


def build_pages(runs_seeded: int) -> list[Page]:
    """The pages of issue 7 item 9, with ids picked from the seeded data."""
    from django.urls import NoReverseMatch, reverse

    from coordination.models import WorkflowVersion
    from coordination.seed import BIG_PREFIX, seed_id
    from workflows.models import Run

    runs = "/admin/workflows/run/"
    sample = Run.objects.filter(pk=seed_id(max(runs_seeded // 2, 0))).first()
    keyed = (
        Run.objects.filter(id__startswith="seed-", idempotency_key__startswith="invoice:")
        .order_by("id")
        .only("idempotency_key")
        .first()
    )
    small = (
        Run.objects.filter(id__startswith="seed-", status="failed", function_id="search.enrich")
        .order_by("id")
        .only("id")
        .first()
    )
    big = Run.objects.filter(id__startswith=BIG_PREFIX).order_by("id").only("id").first()
    version = (
        WorkflowVersion.objects.filter(workflow_id="fanout-approval").order_by("-version").first()
    )

    def q(**params: str) -> str:
        return f"{runs}?{urlencode(params)}"

    pages = [
        Page("baseline: empty group list", "/admin/auth/group/", baseline=True),
        Page("dashboard", "/admin/"),
        Page("dashboard, figures computed (no cache)", "/admin/", uncached=True),
        Page("dashboard ?window=1h, figures computed", "/admin/?window=1h", uncached=True),
        Page("run list", runs),
        Page("run list ?status=failed", q(status="failed")),
        Page("run list ?function_id=billing.invoice.send", q(function_id="billing.invoice.send")),
        Page("run list ?workflow_id=fanout-approval", q(workflow_id="fanout-approval")),
        Page("run list ?since=24h", q(since="24h")),
        Page("run list ?has_error=yes", q(has_error="yes")),
        Page("run list ?stuck=yes", q(stuck="yes")),
        Page("run list ?q=<run id prefix>", q(q=sample.pk[:-2]) if sample else None),
        Page("run list ?q=<correlation id>", q(q=sample.correlation_id) if sample else None),
        Page("run list ?q=<idempotency key>", q(q=keyed.idempotency_key) if keyed else None),
        Page("run page (small)", f"{runs}{small.pk}/change/" if small else None),
        Page("run page (10,000-row timeline)", f"{runs}{big.pk}/change/" if big else None),
        Page("run page (10,000-row timeline, late page)", None, why_missing="no big run"),
        Page("canvas (workflow version page)", None, why_missing="no example workflow"),
        Page("approvals inbox", None),
    ]
    if version is not None:
        pages[-2].url = reverse("admin:coordination_workflowversion_change", args=[version.pk])
    try:
        pages[-1].url = reverse("admin:approvals")
    except NoReverseMatch:
        pages[-1].url = "/admin/approvals/"
    if big is not None:
        pages[-3].url, pages[-3].why_missing = _late_timeline_page(f"{runs}{big.pk}/change/")
    for page in pages:
        if page.url is None and not page.why_missing:
            page.why_missing = "no seeded row to show"
    return pages


_PAGE_LINK = re.compile(r"""href="(\?[^"]*?\b(\w+)=(\d+)[^"]*)\"""")


def _late_timeline_page(url: str) -> tuple[str | None, str]:
    """The run page's paging link (``?<name>=<number>``) with the highest number: the page
    decides the parameter's name; this only reads the links it renders."""
    client = _client()
    response = client.get(url)
    if response.status_code != 200:
        return None, f"run page answered {response.status_code}"
    links = [(int(m.group(3)), m.group(1)) for m in _PAGE_LINK.finditer(response.content.decode())]
    if not links:
        return None, "no timeline paging link on the run page"
    _number, query = max(links)
    return url + query.replace("&amp;", "&").split("#")[0], ""


_CLIENT = None


def _client():
    global _CLIENT
    if _CLIENT is None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        user, made = get_user_model().objects.get_or_create(
            username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
        )
        if made:
            user.set_unusable_password()
            user.save()
        _CLIENT = Client(raise_request_exception=False)
        _CLIENT.force_login(user)
    return _CLIENT


# -- measuring ------------------------------------------------------------------------------
def measure(pages: list[Page], reps: int, warmup: int) -> None:
    """Interleaved rounds: every page once per round, so load changes hit all pages alike.

    Timings are taken without query capture (it costs time per query); one more request per
    page afterwards counts its queries and keeps them for EXPLAIN.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client()
    live = [p for p in pages if p.url]
    for round_ in range(warmup + reps):
        for page in live:
            with _no_cache() if page.uncached else contextlib.nullcontext():
                began = time.perf_counter()
                response = client.get(page.url)
                elapsed = (time.perf_counter() - began) * 1000
            page.status = response.status_code
            if round_ >= warmup:
                page.times.append(elapsed)
        print(f"\r  round {round_ + 1}/{warmup + reps}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    for page in live:
        with (
            _no_cache() if page.uncached else contextlib.nullcontext(),
            CaptureQueriesContext(connection) as captured,
        ):
            client.get(page.url)
        page.queries = len(captured.captured_queries)
        page.captured = list(captured.captured_queries)


def _no_cache():
    """A dummy cache for one request: the page computes everything, and what the other
    pages keep in the real cache stays there."""
    from django.test.utils import override_settings

    return override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    )


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


# -- the report -----------------------------------------------------------------------------
def render(pages: list[Page], args: argparse.Namespace, seeded: Seeded, load: tuple) -> str:
    import django
    from django.db import connection

    from workflows.models import Run

    baseline = next(p for p in pages if p.baseline)
    base95 = p95(baseline.times) if baseline.times else None
    rows = []
    for page in pages:
        if not page.url:
            rows.append((page.label, "-", "-", "-", "missing", "-", page.why_missing))
            continue
        hi = p95(page.times)
        ratio = f"{hi / base95:.1f}x" if base95 else "-"
        over = " **over budget**" if hi > args.budget_ms and not page.baseline else ""
        rows.append(
            (
                page.label,
                f"{p50(page.times):.1f}",
                f"{hi:.1f}",
                ratio,
                str(page.status),
                str(page.queries),
                (_short(page.url) + over).strip(),
            )
        )
    header = ("page", "p50 ms", "p95 ms", "p95 / baseline", "status", "queries", "url")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(widths[i]) if 0 < i < 6 else c.ljust(widths[i]) for i, c in enumerate(cells)
            )
            + " |"
        )

    sep = (
        "|"
        + "|".join(
            "-" * (w + 2) if i in (0, 6) else "-" * (w + 1) + ":" for i, w in enumerate(widths)
        )
        + "|"
    )
    total = Run.objects.count() if connection.vendor != "postgresql" else _estimate("workflows_run")
    end = os.getloadavg()
    context = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, database {connection.vendor}:"
        f"{connection.settings_dict['NAME']} (~{total:,} runs; {seeded.note}), "
        f"Django {django.get_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} before / {end[0]:.1f} after (1 min), {args.reps} reps "
        f"(+{args.warmup} warm-up), server time of client.get in-process"
    )
    return "\n".join([context, "", line(header), sep] + [line(r) for r in rows])


def _short(url: str) -> str:
    return url if len(url) <= 70 else url[:67] + "..."


def _estimate(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def explain(page: Page) -> str:
    """The page's slowest query and its plan (Postgres: EXPLAIN ANALYZE, BUFFERS)."""
    from django.db import connection, transaction

    if not page.captured:
        return f"### {page.label}: no queries captured"
    slowest = max(page.captured, key=lambda q: float(q.get("time") or 0))
    sql = slowest["sql"]
    total = sum(float(q.get("time") or 0) for q in page.captured) * 1000
    out = [
        f"### {page.label}: p95 {p95(page.times):.0f} ms, {page.queries} queries "
        f"({total:.0f} ms in SQL); slowest {float(slowest['time']) * 1000:.0f} ms:",
        "",
        sql,
    ]
    if connection.vendor == "postgresql" and sql.lstrip().upper().startswith("SELECT"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            out += ["", *(row[0] for row in cursor.fetchall())]
            transaction.set_rollback(True)
    return "\n".join(out)


def profile(page: Page, top: int = 30) -> str:
    """Where one request of the page spends its time when SQL is not the whole story."""
    import cProfile
    import io
    import pstats

    client = _client()
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(page.url)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join([f"profile of one request (top {top} by cumulative time):", *lines[start:]])


if __name__ == "__main__":
    sys.exit(main())
