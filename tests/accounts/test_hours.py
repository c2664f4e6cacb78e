"""Business hours: is_open / next_open on fixed instants — closed days, overnight ranges, zones without
daylight saving (Asia/Shanghai, Asia/Kolkata's half hour) and one with it (Europe/Berlin) — and the
validation messages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from kefu.accounts.hours import BusinessHours, hours_of

SH = ZoneInfo("Asia/Shanghai")


def office(**kw: object) -> BusinessHours:
    week = {
        "mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
        "tue": [],
        "wed": [],
        "thu": [],
        "fri": [{"start": "09:00", "end": "18:00"}],
        "sat": [{"start": "22:00", "end": "02:00"}],
    }
    return BusinessHours.model_validate({"always_open": False, "week": week, **kw})  # fmt: skip


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """November 2026 in Shanghai: the 23rd is a Monday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def test_default_is_always_open_so_nothing_changes() -> None:
    hours = BusinessHours()
    assert (hours.timezone, hours.always_open) == ("Asia/Shanghai", True)
    assert hours.is_open(sh(29, 3))
    assert hours.next_open(sh(29, 3)) == sh(29, 3)
    assert hours_of({}, None) == hours
    assert hours_of(None, "Mars/Olympus") == hours  # a zone this machine does not know: the default


def test_open_within_ranges_closed_between_them_and_at_the_end() -> None:
    hours = office()
    times = [(8, 59), (9, 0), (11, 59), (12, 0), (13, 0), (17, 59), (18, 0)]
    assert [hours.is_open(sh(23, h, m)) for h, m in times] == [False, True, True, False, True, True, False]
    assert hours.next_open(sh(23, 12, 30)) == sh(23, 13)
    assert hours.next_open(sh(23, 10)) == sh(23, 10)


def test_closed_days_are_skipped() -> None:
    hours = office()
    assert not hours.is_open(sh(24, 10))  # Tuesday: closed
    assert hours.next_open(sh(23, 18, 0)) == sh(27, 9)  # Monday evening → Friday 09:00
    assert hours.next_open(sh(29, 3)) == sh(30, 9)  # Sunday → Monday


def test_an_overnight_range_runs_into_the_next_day() -> None:
    hours = office()
    assert not hours.is_open(sh(28, 21, 59))  # Saturday
    assert hours.is_open(sh(28, 22, 0))
    assert hours.is_open(sh(29, 1, 59))  # Sunday morning, still Saturday's range
    assert not hours.is_open(sh(29, 2, 0))
    assert hours.next_open(sh(27, 18, 0)) == sh(28, 22)


def test_the_answer_is_the_same_instant_whatever_zone_it_is_asked_in() -> None:
    hours = office()
    utc = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert hours.is_open(utc)
    assert not hours.is_open(datetime(2026, 11, 23, 0, 59, tzinfo=UTC))
    opens = hours.next_open(datetime(2026, 11, 23, 0, 30, tzinfo=UTC))
    assert opens == utc and opens is not None and opens.tzinfo == SH
    with pytest.raises(ValueError, match="aware datetime"):
        hours.is_open(datetime(2026, 11, 23, 9, 0))


def test_half_hour_zone_without_daylight_saving() -> None:
    hours = office(timezone="Asia/Kolkata")
    assert hours.is_open(datetime(2026, 11, 23, 3, 30, tzinfo=UTC))  # 09:00 IST
    assert not hours.is_open(datetime(2026, 11, 23, 3, 29, tzinfo=UTC))


def test_a_zone_with_daylight_saving_opens_at_local_wall_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    hours = BusinessHours.model_validate(
        {"timezone": "Europe/Berlin", "always_open": False, "week": {"mon": [{"start": "09:00", "end": "17:00"}]}}
    )
    summer = hours.next_open(datetime(2026, 3, 28, 12, 0, tzinfo=berlin))  # the clocks go forward on the 29th
    assert summer == datetime(2026, 3, 30, 9, 0, tzinfo=berlin)
    assert summer is not None and summer.utcoffset() is not None and summer.utcoffset().total_seconds() == 7200


def test_never_open_has_no_next_opening() -> None:
    hours = BusinessHours(always_open=False)
    assert not hours.is_open(sh(23, 10))
    assert hours.next_open(sh(23, 10)) is None


def errors(data: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as err:
        BusinessHours.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in err.value.errors()]


def test_bad_hours_are_refused_with_the_path_and_the_reason() -> None:
    assert errors({"timezone": "Asia/Beijing"}) == [
        ("timezone", "Value error, unknown time zone 'Asia/Beijing'; use an IANA name such as Asia/Shanghai")
    ]
    assert errors({"week": {"monday": []}}) == [
        ("week", "Value error, unknown day monday; days are mon, tue, wed, thu, fri, sat, sun")
    ]
    assert errors({"week": {"mon": [{"start": "9:00", "end": "18:00"}]}}) == [
        ("week.mon.0.start", "Value error, '9:00' is not a time of day as HH:MM (00:00–23:59, or 24:00 as an end)")
    ]
    assert errors({"week": {"mon": [{"start": "09:00", "end": "09:00"}]}}) == [
        ("week.mon.0", "Value error, range 09:00–09:00 is empty; use 00:00–24:00 for the whole day")
    ]
    whole = BusinessHours.model_validate({"always_open": False, "week": {"sun": [{"start": "00:00", "end": "24:00"}]}})
    assert whole.is_open(sh(29, 23, 59)) and not whole.is_open(sh(30, 0, 0))
