"""announcement_day across a whole week and both daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from paperradar.core.schedule import announcement_day, announcement_time

NY = ZoneInfo("America/New_York")
UTC = dt.UTC


def ny(y, m, d, hh, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=NY)


# The week of Sun 2026-02-22 … Sat 2026-02-28 (EST, UTC-5).
WEEK = [
    # (Eastern time, expected listing date)
    (ny(2026, 2, 22, 19, 59), dt.date(2026, 2, 20)),  # Sun before 20:00: still Friday's
    (ny(2026, 2, 22, 20, 0), dt.date(2026, 2, 23)),  # Sun 20:00: Monday's listing
    (ny(2026, 2, 23, 9, 0), dt.date(2026, 2, 23)),  # Mon morning
    (ny(2026, 2, 23, 19, 59), dt.date(2026, 2, 23)),
    (ny(2026, 2, 23, 20, 0), dt.date(2026, 2, 24)),  # Mon 20:00: Tuesday's
    (ny(2026, 2, 24, 23, 59), dt.date(2026, 2, 25)),  # Tue night: Wednesday's
    (ny(2026, 2, 25, 20, 30), dt.date(2026, 2, 26)),  # Wed evening: Thursday's
    (ny(2026, 2, 26, 20, 1), dt.date(2026, 2, 27)),  # Thu evening: Friday's
    (ny(2026, 2, 27, 12, 0), dt.date(2026, 2, 27)),  # Fri noon
    (ny(2026, 2, 27, 21, 0), dt.date(2026, 2, 27)),  # Fri evening: no announcement
    (ny(2026, 2, 28, 21, 0), dt.date(2026, 2, 27)),  # Sat evening: no announcement
    (ny(2026, 3, 1, 0, 5), dt.date(2026, 2, 27)),  # Sun just after midnight
]


@pytest.mark.parametrize(("now", "expected"), WEEK, ids=[f"{n:%a %H:%M}" for n, _ in WEEK])
def test_week(now, expected):
    assert announcement_day(now) == expected
    # The same instant given in UTC gives the same answer.
    assert announcement_day(now.astimezone(UTC)) == expected


def test_listing_is_always_a_weekday():
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    seen = set()
    for hour in range(0, 24 * 60, 1):
        day = announcement_day(start + dt.timedelta(hours=hour))
        assert day.weekday() < 5
        seen.add(day)
    # Five listings a week, none skipped in two months.
    weekdays = {start.date() + dt.timedelta(days=i) for i in range(-3, 61)}
    assert {d for d in weekdays if d.weekday() < 5 and dt.date(2026, 1, 2) <= d <= dt.date(2026, 2, 27)} <= seen


def test_dst_start_2026():
    # Clocks spring forward Sun 2026-03-08: 20:00 EDT is 00:00 UTC, 20:00 EST was 01:00 UTC.
    assert announcement_day(dt.datetime(2026, 3, 9, 0, 30, tzinfo=UTC)) == dt.date(2026, 3, 9)  # 20:30 EDT Sun
    assert announcement_day(dt.datetime(2026, 3, 8, 23, 59, tzinfo=UTC)) == dt.date(2026, 3, 6)  # 19:59 EDT Sun
    # One week earlier, the same UTC instant is 19:30 EST: not yet announced.
    assert announcement_day(dt.datetime(2026, 3, 2, 0, 30, tzinfo=UTC)) == dt.date(2026, 2, 27)
    assert announcement_day(dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) == dt.date(2026, 3, 2)
    # The night of the change itself (02:00 → 03:00 local) needs no special case.
    assert announcement_day(dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC)) == dt.date(2026, 3, 6)


def test_dst_end_2026():
    # Clocks fall back Sun 2026-11-01: from then on 20:00 Eastern is 01:00 UTC.
    assert announcement_day(dt.datetime(2026, 11, 2, 0, 30, tzinfo=UTC)) == dt.date(2026, 10, 30)  # 19:30 EST
    assert announcement_day(dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC)) == dt.date(2026, 11, 2)  # 20:00 EST
    # The week before (EDT) 00:30 UTC Monday is already 20:30 Sunday.
    assert announcement_day(dt.datetime(2026, 10, 26, 0, 30, tzinfo=UTC)) == dt.date(2026, 10, 26)
    # The repeated hour 01:00–02:00 on the change night, both folds.
    assert announcement_day(dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)) == dt.date(2026, 10, 30)
    assert announcement_day(dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)) == dt.date(2026, 10, 30)


def test_announcement_time_is_the_evening_before():
    assert announcement_time(dt.date(2026, 2, 23)) == ny(2026, 2, 22, 20)  # Monday ← Sunday evening
    assert announcement_time(dt.date(2026, 3, 9)).utcoffset() == dt.timedelta(hours=-4)  # after the change
    assert announcement_time(dt.date(2026, 3, 9)).astimezone(UTC) == dt.datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    # announcement_day of the moment a listing appears is that listing.
    for day in (dt.date(2026, 2, 23), dt.date(2026, 2, 27), dt.date(2026, 3, 9), dt.date(2026, 11, 2)):
        assert announcement_day(announcement_time(day)) == day
        assert announcement_day(announcement_time(day) - dt.timedelta(minutes=1)) != day


def test_github_actions_recipe_runs_after_every_announcement():
    yaml = pytest.importorskip("yaml")
    from pathlib import Path

    from typer.testing import CliRunner

    from paperradar.cli import app

    workflow = yaml.safe_load((Path(__file__).parent.parent / "docs" / "github-actions-daily.yml").read_text())
    [cron] = [s["cron"] for s in workflow[True]["schedule"]]  # YAML reads the key `on` as True
    minute, hour, *_ = cron.split()
    # Every evening of a winter and a summer week, the cron time sees that evening's listing.
    for monday in (dt.date(2026, 1, 12), dt.date(2026, 7, 13)):
        for offset in range(-1, 4):  # Sunday … Thursday evenings
            evening = monday + dt.timedelta(days=offset)
            fire = dt.datetime.combine(evening + dt.timedelta(days=1), dt.time(int(hour), int(minute)), tzinfo=UTC)
            assert announcement_day(fire) == evening + dt.timedelta(days=1)
    commands = [s["run"] for s in workflow["jobs"]["daily"]["steps"] if "run" in s and "paperradar" in s["run"]]
    runner = CliRunner()
    for line in commands:
        words = [w for w in line.split()[1:] if not w.startswith(("$", "--", '"'))]
        assert runner.invoke(app, [*words, "--help"]).exit_code == 0, line
