"""Cron expressions, time zones and missed-tick policies: what is accepted, what is
refused (with which code), and which ticks a downtime leaves to start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rawr_site.contract.errors import RawrError
from workflows.schedules.cron import MissedPolicy, parse_cron, parse_missed
from workflows.schedules.scheduler import due_ticks


@pytest.mark.parametrize(
    "expression",
    ["61 * * * *", "* * *", "* * * * * * * *", "", "   ", "0 0 31 2 *", "every day", 5, None],
)
def test_bad_cron_is_invalid_cron(expression):
    with pytest.raises(RawrError) as caught:
        parse_cron(expression, "UTC")
    assert caught.value.code == "INVALID_CRON"
    assert caught.value.status == 400


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "", "utc+2", None, 3])
def test_bad_time_zone_is_invalid_timezone(zone):
    with pytest.raises(RawrError) as caught:
        parse_cron("* * * * *", zone)
    assert caught.value.code == "INVALID_TIMEZONE"


@pytest.mark.parametrize(
    "missed",
    [
        "never",
        ("catch_up", 0),
        ("catch_up", -1),
        ("catch_up", True),
        ("later", 3),
        {"policy": "catch_up"},
        ("catch_up", 5000),
        7,
    ],
)
def test_nonsensical_missed_policy_is_refused(missed):
    with pytest.raises(RawrError) as caught:
        parse_missed(missed)
    assert caught.value.code == "INVALID_MISSED_POLICY"


def test_missed_policy_forms():
    assert parse_missed("skip") == MissedPolicy()
    assert parse_missed(None) == MissedPolicy()
    assert parse_missed(("catch_up", 3)) == MissedPolicy("catch_up", 3)
    assert parse_missed({"policy": "catch_up", "limit": 2}).catch_up == 2


def test_cron_reads_in_its_time_zone_across_dst():
    """09:00 Berlin is 08:00 UTC in winter and 07:00 UTC in summer."""
    spec = parse_cron("0 9 * * *", "Europe/Berlin")
    assert spec.next_after(datetime(2026, 3, 28, 12, tzinfo=UTC)) == datetime(
        2026, 3, 29, 7, tzinfo=UTC
    )
    assert spec.next_after(datetime(2026, 1, 10, 12, tzinfo=UTC)) == datetime(
        2026, 1, 11, 8, tzinfo=UTC
    )


def test_six_fields_lead_with_seconds():
    spec = parse_cron("*/15 * * * * *", "UTC")
    start = datetime(2026, 12, 1, 7, 0, 1, tzinfo=UTC)
    assert spec.next_after(start) == start.replace(second=15)


def test_macros_work():
    assert parse_cron("@hourly").next_after(datetime(2026, 12, 1, 7, 5, tzinfo=UTC)) == datetime(
        2026, 12, 1, 8, tzinfo=UTC
    )


T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_on_time_ticks_start():
    spec = parse_cron("* * * * *")
    ticks, skipped = due_ticks(spec, MissedPolicy(), T0, T0 + timedelta(seconds=30), grace=60)
    assert ticks == [T0]
    assert skipped == 0


def test_skip_drops_ticks_missed_in_a_downtime():
    """Down from 07:00 to 07:10 (every minute, 60 s grace): 07:09 and 07:10 are within the
    grace and start; the nine before are skipped."""
    spec = parse_cron("* * * * *")
    ticks, skipped = due_ticks(spec, MissedPolicy(), T0, T0 + timedelta(minutes=10), grace=60)
    assert ticks == [T0 + timedelta(minutes=9), T0 + timedelta(minutes=10)]
    assert skipped == 9


def test_catch_up_starts_the_newest_n_missed_ticks():
    spec = parse_cron("* * * * *")
    ticks, skipped = due_ticks(
        spec, MissedPolicy("catch_up", 3), T0, T0 + timedelta(minutes=10), grace=60
    )
    assert ticks == [T0 + timedelta(minutes=m) for m in (6, 7, 8, 9, 10)]
    assert skipped == 6


def test_catch_up_larger_than_the_downtime_starts_every_missed_tick():
    spec = parse_cron("* * * * *")
    ticks, skipped = due_ticks(
        spec, MissedPolicy("catch_up", 50), T0, T0 + timedelta(minutes=10), grace=60
    )
    assert ticks == [T0 + timedelta(minutes=m) for m in range(11)]
    assert skipped == 0


def test_when_clocks_fall_back_a_job_pinned_to_an_hour_runs_once():
    """02:30 Berlin happens twice on 25 Oct 2026 (00:30 and 01:30 UTC): a daily 02:30 job
    runs at the first, like cron; an every-30-minutes job runs through both hours."""
    start = datetime(2026, 10, 24, 23, tzinfo=UTC)
    daily = parse_cron("30 2 * * *", "Europe/Berlin").iter_from(start)
    assert [next(daily) for _ in range(2)] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]
    half_hourly = parse_cron("*/30 * * * *", "Europe/Berlin").iter_from(start)
    ticks = [next(half_hourly) for _ in range(6)]
    assert ticks == [start + timedelta(minutes=30 * n) for n in range(6)]
    assert parse_cron("30 2 * * *", "Europe/Berlin").previous(
        datetime(2026, 10, 26, 12, tzinfo=UTC), 2
    ) == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 26, 1, 30, tzinfo=UTC)]
