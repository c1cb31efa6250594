"""The dashboard's figures equal counts computed directly from the database.

Runs are written at chosen times and statuses; the index page is rendered by the test
client and read back from its HTML (the numbers staff see and the links they click), then
compared with plain ORM counts and a percentile computed here from the stored durations.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import factory
import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tests.factories import StaffUserFactory
from workflows.admin.display import duration
from workflows.models import Approval, Run

pytestmark = pytest.mark.django_db

STATUSES = ("queued", "running", "sleeping", "waiting", "completed", "failed", "cancelled")
FINISHED = ("completed", "failed", "cancelled")


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    id = factory.Sequence(lambda n: f"run-dash-{n:05d}")
    function_id = "billing.charge"
    status = "completed"


def make_run(
    *,
    created: datetime,
    status: str = "completed",
    function_id: str = "billing.charge",
    took: timedelta | None = None,
    finished: datetime | None = None,
    lease_expires_at: datetime | None = None,
) -> Run:
    """A run with explicit times (``auto_now_add`` would overwrite them on insert)."""
    run = RunFactory(status=status, function_id=function_id)
    started = created + timedelta(milliseconds=50) if status != "queued" else None
    if status in FINISHED and finished is None and started is not None:
        finished = started + (took or timedelta(seconds=1))
    Run.objects.filter(pk=run.pk).update(
        created_at=created,
        started_at=started,
        finished_at=finished,
        lease_expires_at=lease_expires_at,
    )
    run.refresh_from_db()
    return run


# -- reading the page ---------------------------------------------------------------------


class _Page(HTMLParser):
    """Collects what the dashboard shows: figures, bars and their segments, links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str], list[str]]] = []
        self.figures: list[tuple[str, str, dict[str, str], list[dict[str, str]]]] = []
        self.bars: list[dict] = []
        self.rows: dict[str, dict[str, str]] = {}
        self.links: list[dict[str, str]] = []
        self.section: dict[str, str] = {}
        self._row: str | None = None
        self._anchors: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "section" and attributes.get("id") == "rawr-dashboard":
            self.section = attributes
        if tag == "tr" and "data-function" in attributes:
            self._row = attributes["data-function"]
            self.rows[self._row] = {}
        if tag == "a":
            self.links.append(attributes)
            self._anchors.append(attributes)
            if "rawr-bar" in attributes.get("class", ""):
                self.bars.append({**attributes, "segments": {}})
        if tag == "rect" and attributes.get("class") == "rawr-seg" and self.bars:
            self.bars[-1]["segments"][attributes["data-series"]] = int(attributes["data-count"])
        if tag in ("rect", "line", "link", "br", "input", "img", "meta", "polyline", "polygon"):
            return
        self.stack.append((tag, attributes, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag == "a" and self._anchors:
            self._anchors.pop()
        while self.stack:
            open_tag, attributes, text = self.stack.pop()
            content = " ".join("".join(text).split())
            if self.stack:
                self.stack[-1][2].append("".join(text))
            if "data-figure" in attributes:
                name = attributes["data-figure"]
                if self._row is not None:
                    self.rows[self._row][name] = content
                    self.rows[self._row][f"{name}.href"] = attributes.get("href", "")
                else:
                    self.figures.append((name, content, attributes, list(self._anchors)))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1][2].append(data)

    def figure(self, name: str) -> str:
        matches = [content for key, content, _a, _l in self.figures if key == name]
        assert len(matches) == 1, (name, matches)
        return matches[0]

    def figure_href(self, name: str) -> str:
        """The link a figure is (or sits in)."""
        for key, _content, attributes, anchors in self.figures:
            if key == name:
                return attributes.get("href") or (anchors[-1]["href"] if anchors else "")
        raise AssertionError(name)


def read(client, url: str = "/admin/") -> _Page:
    response = client.get(url)
    assert response.status_code == 200
    page = _Page()
    page.feed(response.content.decode())
    return page


def number(text: str) -> int:
    return int(text.replace(",", ""))


def query(href: str) -> dict[str, str]:
    parts = urlsplit(href)
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


def when(text: str) -> datetime:
    value = parse_datetime(text)
    assert value is not None, text
    return value


def percentile_cont(values: list[timedelta], fraction: float) -> timedelta:
    """The SQL standard's ``percentile_cont``: linear between ranks ``p * (n - 1)``."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def now(monkeypatch) -> datetime:
    """One fixed "now" for the page and the assertions (buckets must not move between)."""
    fixed = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    return fixed


@pytest.fixture(autouse=True)
def fresh_cache():
    """The 7-day figures are cached for a minute; every test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def superuser_client(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


@pytest.fixture
def runs(now) -> list[Run]:
    """Runs across the windows: mixed statuses and functions, durations in whole ms."""
    made = []
    spec = [
        # (age, status, function, took ms)
        (timedelta(minutes=2), "queued", "billing.charge", None),
        (timedelta(minutes=3), "running", "billing.charge", None),
        (timedelta(minutes=4), "completed", "billing.charge", 1200),
        (timedelta(minutes=4), "failed", "billing.charge", 300),
        (timedelta(minutes=30), "waiting", "mail.digest", None),
        (timedelta(minutes=45), "sleeping", "mail.digest", None),
        (timedelta(hours=2), "completed", "mail.digest", 4500),
        (timedelta(hours=2, minutes=10), "completed", "mail.digest", 2500),
        (timedelta(hours=3), "cancelled", "mail.digest", 100),
        (timedelta(hours=5), "completed", "billing.charge", 800),
        (timedelta(hours=5), "completed", "billing.charge", 15_000),
        (timedelta(hours=9), "failed", "billing.charge", 2000),
        (timedelta(hours=9, minutes=1), "completed", "billing.charge", 650),
        (timedelta(hours=23), "completed", "<b>odd</b>.fn", 70_000),
        (timedelta(hours=25), "failed", "billing.charge", 500),  # only in 7 d
        (timedelta(days=3), "completed", "mail.digest", 900),  # only in 7 d
        (timedelta(days=9), "completed", "mail.digest", 900),  # in no window
    ]
    for age, status, function_id, took in spec:
        made.append(
            make_run(
                created=now - age,
                status=status,
                function_id=function_id,
                took=timedelta(milliseconds=took) if took else None,
            )
        )
    # A queued run older than every other queued one, outside every window.
    made.append(make_run(created=now - timedelta(days=10), status="queued"))
    # Stuck: active with an expired lease; and one active whose lease is still good.
    made.append(
        make_run(
            created=now - timedelta(hours=1),
            status="running",
            lease_expires_at=now - timedelta(minutes=1),
        )
    )
    made.append(
        make_run(
            created=now - timedelta(hours=1),
            status="running",
            lease_expires_at=now + timedelta(minutes=5),
        )
    )
    # Finished long after it was created: counts in the finished window, not the created one.
    made.append(
        make_run(
            created=now - timedelta(days=2),
            status="completed",
            function_id="mail.digest",
            finished=now - timedelta(minutes=20),
        )
    )
    waiting = made[4]
    for index, status in enumerate(("pending", "pending", "approved")):
        Approval.objects.create(
            id=f"appr-{index}", run=waiting, step_id=f"s{index}", title="Ship?", status=status
        )
    return made


# -- tests --------------------------------------------------------------------------------


def test_every_figure_of_the_default_window_equals_a_database_count(superuser_client, runs, now):
    page = read(superuser_client)
    start, end = when(page.section["data-since"]), when(page.section["data-until"])
    assert page.section["data-window"] == "24h"
    assert end - start == timedelta(hours=24) and start <= now - timedelta(hours=23) < now < end
    created = Run.objects.filter(created_at__gte=start, created_at__lt=end)
    finished = Run.objects.filter(finished_at__gte=start, finished_at__lt=end, status__in=FINISHED)

    # Bars: one per half hour, each counting exactly the runs created in its interval.
    assert len(page.bars) == 48
    for bar in page.bars:
        since, until = when(bar["data-since"]), when(bar["data-until"])
        assert until - since == timedelta(minutes=30)
        in_bar = Run.objects.filter(created_at__gte=since, created_at__lt=until)
        expected = {s: in_bar.filter(status=s).count() for s in STATUSES}
        assert bar["segments"] == {s: n for s, n in expected.items() if n}
        assert int(bar["data-total"]) == in_bar.count()
        link = query(bar["href"])
        assert urlsplit(bar["href"]).path == "/admin/workflows/run/"
        assert when(link["since"]) == since and when(link["until"]) == until
    assert sum(int(bar["data-total"]) for bar in page.bars) == created.count() == 16

    # Counts per status in the window, each a link to that status since the window start.
    assert number(page.figure("created")) == created.count()
    for status in STATUSES:
        assert number(page.figure(f"status-{status}")) == created.filter(status=status).count()
        link = query(page.figure_href(f"status-{status}"))
        assert link["status"] == status and when(link["since"]) == start

    # Throughput and failure rate over runs finished in the window.
    assert number(page.figure("finished-total")) == finished.count()
    failed = finished.filter(status="failed").count()
    assert page.figure("failure-rate") == f"{failed / finished.count() * 100:.1f}%"
    assert number(page.figure("failed")) == failed
    assert query(page.figure_href("failure-rate")) == {
        "status": "failed",
        "since": page.section["data-since"].replace("+00:00", "Z"),
    }
    per_minute = finished.count() / (24 * 60)
    assert page.figure("throughput") == f"{per_minute:.2f}"  # under 1/min: two decimals

    # Per function: finished, failed, failure rate, p50 / p95 of finished_at - started_at.
    functions = set(finished.values_list("function_id", flat=True))
    assert set(page.rows) == functions
    for function_id in functions:
        row = page.rows[function_id]
        mine = finished.filter(function_id=function_id)
        durations = [r.finished_at - r.started_at for r in mine]
        failed_here = mine.filter(status="failed").count()
        assert number(row["finished"]) == mine.count()
        assert number(row["failed"]) == failed_here
        assert row["failure-rate"] == f"{failed_here / mine.count() * 100:.1f}%"
        assert row["p50"] == duration(percentile_cont(durations, 0.5))
        assert row["p95"] == duration(percentile_cont(durations, 0.95))
        assert query(row["finished.href"]) == {
            "function_id": function_id,
            "since": page.section["data-since"].replace("+00:00", "Z"),
        }
        assert query(row["failure-rate.href"])["status"] == "failed"
        assert query(row["failure-rate.href"])["function_id"] == function_id

    # Stuck, oldest queued, waiting approvals.
    stuck = Run.objects.filter(
        status__in=("queued", "running", "sleeping", "waiting"), lease_expires_at__lt=now
    )
    assert number(page.figure("stuck")) == stuck.count() == 1
    assert query(page.figure_href("stuck")) == {"stuck": "yes"}
    oldest = Run.objects.filter(status="queued").order_by("created_at").first()
    assert page.figure("oldest-run") == oldest.pk
    assert page.figure("oldest-age") == "10 d"
    assert page.figure_href("oldest-run") == f"/admin/workflows/run/{quote(oldest.pk)}/change/"
    pending = Approval.objects.filter(status="pending").count()
    assert number(page.figure("approvals")) == pending == 2
    assert page.figure_href("approvals") == "/admin/approvals/"


def test_one_hour_and_seven_day_windows_count_their_own_intervals(superuser_client, runs, now):
    for window, bars, width in (("1h", 60, timedelta(minutes=1)), ("7d", 28, timedelta(hours=6))):
        page = read(superuser_client, f"/admin/?window={window}")
        assert page.section["data-window"] == window
        start, end = when(page.section["data-since"]), when(page.section["data-until"])
        assert len(page.bars) == bars
        for bar in page.bars:
            since, until = when(bar["data-since"]), when(bar["data-until"])
            assert until - since == width
            assert int(bar["data-total"]) == (
                Run.objects.filter(created_at__gte=since, created_at__lt=until).count()
            )
        created = Run.objects.filter(created_at__gte=start, created_at__lt=end)
        assert number(page.figure("created")) == created.count()
        finished = Run.objects.filter(finished_at__gte=start, finished_at__lt=end)
        assert number(page.figure("finished-total")) == finished.count()
    # The switcher links every window and marks the current one.
    switch = [link for link in page.links if link.get("href", "").startswith("?window=")]
    assert [link["href"] for link in switch] == ["?window=1h", "?window=24h", "?window=7d"]
    assert [link.get("aria-current") for link in switch] == [None, None, "true"]


def test_week_figures_are_reused_for_a_minute_but_attention_figures_are_live(
    superuser_client, runs, now
):
    before = read(superuser_client, "/admin/?window=7d")
    make_run(created=now - timedelta(hours=3), status="completed")
    make_run(
        created=now - timedelta(hours=3), status="running", lease_expires_at=now - timedelta(1)
    )
    after = read(superuser_client, "/admin/?window=7d")
    assert after.figure("created") == before.figure("created")
    assert number(after.figure("stuck")) == number(before.figure("stuck")) + 1
    # The day view is computed on every visit.
    day = read(superuser_client)
    assert number(day.figure("created")) == (
        Run.objects.filter(created_at__gte=now - timedelta(hours=23)).count()
    )
    cache.clear()
    assert number(read(superuser_client, "/admin/?window=7d").figure("created")) == (
        number(before.figure("created")) + 2
    )


def test_unknown_window_falls_back_to_24_hours(superuser_client, runs):
    page = read(superuser_client, "/admin/?window=<x>")
    assert page.section["data-window"] == "24h"


def test_current_rate_counts_the_last_five_minutes(superuser_client, now):
    for minutes in (1, 2, 4, 6):  # the 6-minute-old one is outside "now"
        make_run(
            created=now - timedelta(minutes=minutes + 1), finished=now - timedelta(minutes=minutes)
        )
    page = read(superuser_client, "/admin/?window=1h")
    assert page.figure("throughput-current") == f"{3 / 5:.2f}"
    assert number(page.figure("finished-total")) == 4


def test_staff_without_view_run_see_no_run_figures(client, runs):
    staff = StaffUserFactory()
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b"rawr-dashboard" not in response.content

    staff.user_permissions.add(Permission.objects.get(codename="view_run"))
    staff = type(staff).objects.get(pk=staff.pk)  # drop the permission cache
    client.force_login(staff)
    page = read(client)
    assert page.section["data-window"] == "24h"
    # Runs yes; approvals need their own permission.
    assert not [f for f in page.figures if f[0] == "approvals"]


def test_an_empty_database_renders_quiet_figures(superuser_client, now):
    page = read(superuser_client)
    assert number(page.figure("created")) == 0
    assert page.figure("failure-rate") == "-"
    assert page.figure("oldest-age") == "none"
    assert page.figure("stuck") == "0"
    assert page.rows == {}
    assert all(int(bar["data-total"]) == 0 for bar in page.bars)


def test_stored_function_ids_are_escaped(superuser_client, runs):
    html = superuser_client.get("/admin/").content.decode()
    assert "<b>odd</b>" not in html
    assert re.search(r"&lt;b&gt;odd&lt;/b&gt;\.fn", html)
