"""Dates as a therapist types them (SPEC §6): ISO, words, weekdays, months, times.

Base date 2026-11-27 is a Friday. In a log of the past a weekday means the most recent one
(today, if today is that day); `last <weekday>` is the most recent one *before* today
(medmassage/rules/dates.py docstring).
"""

from __future__ import annotations

from datetime import date

import pytest

from medmassage.errors import InputError
from medmassage.rules.dates import parse_date, parse_date_time, parse_period, today

BASE = date(2026, 11, 27)  # Friday
D = date.fromisoformat


def test_base_is_a_friday_and_today_is_pinned() -> None:
    # Guards the premise of every weekday case below.
    assert BASE.strftime("%A") == "Friday"
    assert today() == BASE  # MEDMASSAGE_TODAY from conftest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11-20", "2026-11-20", id="iso"),
        pytest.param("  2026-11-20 ", "2026-11-20", id="iso-padded"),
        pytest.param("2024-02-29", "2024-02-29", id="iso-leap-day"),
        pytest.param("today", "2026-11-27", id="today"),
        pytest.param("Today", "2026-11-27", id="today-capitalised"),
        pytest.param("yesterday", "2026-11-26", id="yesterday"),
        pytest.param("friday", "2026-11-27", id="friday-is-today-on-a-friday"),
        pytest.param("fri", "2026-11-27", id="fri-abbreviated"),
        pytest.param("last friday", "2026-11-20", id="last-friday-a-week-ago"),
        pytest.param("last  Friday", "2026-11-20", id="last-friday-spacing-and-case"),
        pytest.param("thursday", "2026-11-26", id="thursday-yesterday"),
        pytest.param("saturday", "2026-11-21", id="saturday-never-tomorrow"),
        pytest.param("sunday", "2026-11-22", id="sunday"),
        pytest.param("monday", "2026-11-23", id="monday-this-week"),
        pytest.param("last monday", "2026-11-23", id="last-monday-most-recent-before-today"),
    ],
)
def test_parse_date(text: str, expected: str) -> None:
    assert parse_date("date", text, base=BASE) == D(expected)


def test_parse_date_defaults_to_the_pinned_today() -> None:
    assert parse_date("date", "yesterday") == D("2026-11-26")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-02-30", id="feb-30"),
        pytest.param("2025-02-29", id="feb-29-not-leap"),
        pytest.param("2026-13-01", id="month-13"),
        pytest.param("garbage", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("last month", id="a-month-is-not-a-day"),
        pytest.param("2026-10", id="iso-month-is-not-a-day"),
        pytest.param("next friday", id="next-friday"),
        pytest.param("th", id="ambiguous-weekday-prefix"),
    ],
)
def test_parse_date_rejects_what_is_not_a_day(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_date("session date", text, base=BASE)
    # The message names the field and says what is allowed.
    assert err.value.field == "session date"
    assert str(err.value).startswith("session date:")
    assert "2026-11-20" in err.value.allowed


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param("2026-11-27", True, id="today-iso-ok"),
        pytest.param("today", True, id="today-ok"),
        pytest.param("2026-11-28", False, id="tomorrow-refused"),
        pytest.param("2027-01-01", False, id="next-year-refused"),
    ],
)
def test_future_dates_refused_when_not_allowed(text: str, ok: bool) -> None:
    if ok:
        assert parse_date("date", text, allow_future=False, base=BASE) <= BASE
    else:
        with pytest.raises(InputError) as err:
            parse_date("date", text, allow_future=False, base=BASE)
        assert "future" in err.value.allowed
        # …but the same text is a fine date where the future is allowed (an Rx end date).
        assert parse_date("date", text, base=BASE) > BASE


# --- date with a start time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day", "start"),
    [
        pytest.param("2026-11-20 14:30", "2026-11-20", "14:30", id="iso-space-time"),
        pytest.param("2026-11-20T14:30", "2026-11-20", "14:30", id="iso-T-time"),
        pytest.param("2026-11-20 9:05", "2026-11-20", "09:05", id="one-digit-hour-padded"),
        pytest.param("2026-11-20 00:00", "2026-11-20", "00:00", id="midnight"),
        pytest.param("2026-11-20 23:59", "2026-11-20", "23:59", id="last-minute"),
        pytest.param("today 9:00", "2026-11-27", "09:00", id="word-with-time"),
        pytest.param("last friday 16:00", "2026-11-20", "16:00", id="weekday-with-time"),
        pytest.param("2026-11-20", "2026-11-20", None, id="no-time"),
    ],
)
def test_parse_date_time(text: str, day: str, start: str | None) -> None:
    assert parse_date_time("date", text, base=BASE) == (D(day), start)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-11-20 25:00", id="hour-25"),
        pytest.param("2026-11-20 24:00", id="hour-24"),
        pytest.param("2026-11-20 14:60", id="minute-60"),
        pytest.param("2026-11-20T25:00", id="T-hour-25"),
        pytest.param("2026-11-28 10:00", id="future-day"),
    ],
)
def test_parse_date_time_rejects_bad_times(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_date_time("date", text, base=BASE)
    assert err.value.field == "date"


# --- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "base", "first", "last"),
    [
        pytest.param("2026-10", BASE, "2026-10-01", "2026-10-31", id="iso-month-31-days"),
        pytest.param("2026-11", BASE, "2026-11-01", "2026-11-30", id="iso-month-30-days"),
        pytest.param("2026-02", BASE, "2026-02-01", "2026-02-28", id="february"),
        pytest.param("2024-02", BASE, "2024-02-01", "2024-02-29", id="february-leap"),
        pytest.param("2026-12", BASE, "2026-12-01", "2026-12-31", id="december-ends-on-31"),
        pytest.param("last month", BASE, "2026-10-01", "2026-10-31", id="last-month-october"),
        pytest.param("this month", BASE, "2026-11-01", "2026-11-30", id="this-month"),
        pytest.param("last month", D("2027-01-15"), "2026-12-01", "2026-12-31",
                     id="last-month-january-rolls-back-a-year"),
        pytest.param("this month", D("2026-12-31"), "2026-12-01", "2026-12-31",
                     id="this-month-in-december"),
        pytest.param("last month", D("2026-03-31"), "2026-02-01", "2026-02-28",
                     id="last-month-from-the-31st"),
        pytest.param("2026-11-20", BASE, "2026-11-20", "2026-11-20", id="single-day"),
        pytest.param("yesterday", BASE, "2026-11-26", "2026-11-26", id="single-word-day"),
    ],
)  # fmt: skip
def test_parse_period(text: str, base: date, first: str, last: str) -> None:
    assert parse_period("month", text, base=base) == (D(first), D(last))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-13", id="month-13"),
        pytest.param("2026-00", id="month-00"),
        pytest.param("garbage", id="garbage"),
        pytest.param("2026-02-30", id="feb-30"),
    ],
)
def test_parse_period_rejects(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_period("month", text, base=BASE)
    assert err.value.field == "month"


def test_hidden_today_option_pins_now_like_the_environment(practice, db_path, sh):
    import os

    env = {k: v for k, v in os.environ.items() if k != "MEDMASSAGE_TODAY"}
    log = ("session", "log", "Jane", "--date", "2030-01-10", "--pre", "5", "--post", "2",
           "--technique", "swedish=30", "--region", "neck")  # fmt: skip
    future = sh("--db", str(db_path), *log, env=env)
    assert future.returncode == 2 and "is in the future" in future.stderr
    pinned = sh("--db", str(db_path), "--today", "2030-01-15", *log, env=env)
    assert pinned.returncode == 0, pinned.stderr
    assert "2030-01-10" in pinned.stdout
    bad = sh("--db", str(db_path), "--today", "2030-02-30", "client", "list", env=env)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: today: '2030-02-30' — an ISO date like 2026-11-27"
    )
    assert "--today" not in sh("--help", env=env).stdout  # hidden
