"""The business-hours clock (kefu.sla.calendar): deadlines and business time with exact expected instants
across nights, weekends, holidays, make-up working days (调休), overnight ranges and 24×7."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kefu.accounts.hours import OpenRange
from kefu.sla.calendar import Calendar, NeverOpen, add_business_time, business_seconds, overlapping

SH = ZoneInfo("Asia/Shanghai")
NINE_SIX = (OpenRange(start="09:00", end="18:00"),)
WEEK = {d: NINE_SIX for d in ("mon", "tue", "wed", "thu", "fri")}
# 2026 National Day (国务院办公厅): 10-01 … 10-07 off; Sunday 09-20 and Saturday 10-10 are working days.
NATIONAL_DAY = frozenset(date(2026, 10, d) for d in range(1, 8))
MAKE_UP = {date(2026, 9, 20): (), date(2026, 10, 10): ()}
CAL = Calendar(week=WEEK, holidays=NATIONAL_DAY, workdays=MAKE_UP)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


H = 3600


def test_p2_two_hours_from_friday_evening_lands_on_monday_morning() -> None:
    # 2026-12-04 is a Friday: 30 min left on Friday, 1 h 30 on Monday from 09:00.
    assert add_business_time(CAL, sh(2026, 12, 4, 17, 30), 2 * H) == sh(2026, 12, 7, 10, 30)


def test_overnight_and_before_opening() -> None:
    assert add_business_time(CAL, sh(2026, 12, 8, 22, 0), 30 * 60) == sh(2026, 12, 9, 9, 30)
    assert add_business_time(CAL, sh(2026, 12, 8, 6, 0), 8 * H) == sh(2026, 12, 8, 17, 0)
    assert add_business_time(CAL, sh(2026, 12, 8, 10, 0), 9 * H) == sh(2026, 12, 9, 10, 0)


def test_a_deadline_on_the_closing_time_stays_there() -> None:
    assert add_business_time(CAL, sh(2026, 12, 8, 9, 0), 9 * H) == sh(2026, 12, 8, 18, 0)


def test_national_day_holiday_is_skipped() -> None:
    # Wednesday 09-30 17:30: 30 min that day, then nothing until Thursday 10-08 09:00.
    assert add_business_time(CAL, sh(2026, 9, 30, 17, 30), 2 * H) == sh(2026, 10, 8, 10, 30)


def test_saturday_make_up_day_counts_with_weekday_hours() -> None:
    # Friday 10-09 14:00 + 8 h: 4 h Friday, then Saturday 10-10 (调休, a working day) 09:00 + 4 h.
    assert add_business_time(CAL, sh(2026, 10, 9, 14, 0), 8 * H) == sh(2026, 10, 10, 13, 0)
    # Sunday 09-20 is a working day too: Saturday evening's clock starts on Sunday.
    assert add_business_time(CAL, sh(2026, 9, 19, 20, 0), 30 * 60) == sh(2026, 9, 20, 9, 30)
    # Without the make-up day the same start waits until Monday.
    plain = Calendar(week=WEEK, holidays=NATIONAL_DAY)
    assert add_business_time(plain, sh(2026, 10, 9, 14, 0), 8 * H) == sh(2026, 10, 12, 13, 0)


def test_make_up_day_with_its_own_hours() -> None:
    cal = Calendar(week=WEEK, workdays={date(2026, 10, 10): (OpenRange(start="10:00", end="12:00"),)})
    assert add_business_time(cal, sh(2026, 10, 9, 17, 0), 2 * H) == sh(2026, 10, 10, 11, 0)


def test_overnight_range_runs_into_the_next_day() -> None:
    cal = Calendar(week={"fri": (OpenRange(start="22:00", end="02:00"),)})
    assert add_business_time(cal, sh(2026, 12, 4, 23, 0), 2 * H) == sh(2026, 12, 5, 1, 0)
    assert add_business_time(cal, sh(2026, 12, 5, 1, 0), 2 * H) == sh(2026, 12, 11, 23, 0)


def test_twenty_four_seven_is_plain_elapsed_time() -> None:
    start = sh(2026, 12, 4, 17, 30)
    assert add_business_time(None, start, 2 * H) == start + timedelta(hours=2)
    assert business_seconds(None, start, start + timedelta(hours=30)) == 30 * H


def test_business_seconds_across_weekend_and_holiday() -> None:
    assert business_seconds(CAL, sh(2026, 12, 4, 17, 30), sh(2026, 12, 7, 10, 30)) == 2 * H
    assert business_seconds(CAL, sh(2026, 9, 30, 12, 0), sh(2026, 10, 8, 12, 0)) == 9 * H
    assert business_seconds(CAL, sh(2026, 10, 8, 12, 0), sh(2026, 9, 30, 12, 0)) == 0.0
    assert business_seconds(CAL, sh(2026, 12, 5, 0, 0), sh(2026, 12, 6, 23, 0)) == 0.0


def test_round_trip_deadline_and_business_seconds() -> None:
    start = sh(2026, 9, 18, 16, 15)
    for minutes in (1, 45, 600, 2880, 10080):
        due = add_business_time(CAL, start, minutes * 60)
        assert business_seconds(CAL, start, due) == minutes * 60


def test_never_open_and_negative_time_are_errors() -> None:
    with pytest.raises(NeverOpen):
        add_business_time(Calendar(week={}), sh(2026, 12, 4, 9, 0), 60)
    with pytest.raises(ValueError, match="cannot be negative"):
        add_business_time(CAL, sh(2026, 12, 4, 9, 0), -1)


def test_overlapping_ranges_are_found() -> None:
    a, b = OpenRange(start="09:00", end="12:00"), OpenRange(start="11:00", end="18:00")
    assert overlapping([b, a]) == (a, b)
    assert overlapping([OpenRange(start="09:00", end="12:00"), OpenRange(start="12:00", end="18:00")]) is None
