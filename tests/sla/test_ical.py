"""iCal import (kefu.sla.ical): the 2026 mainland China holiday calendar as holiday sites publish it, how
events are classified, and malformed input refused with a reason."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from kefu.sla.ical import HOLIDAY, WORKDAY, IcalError, classify, parse_ical

FIXTURE = Path(__file__).parent / "fixtures" / "cn_holidays_2026.ics"


def _span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=k) for k in range((last - first).days + 1)}


def test_the_2026_mainland_calendar_expands_to_each_date() -> None:
    days = parse_ical(FIXTURE.read_bytes(), "Asia/Shanghai")
    holidays = {d.day for d in days if d.kind == HOLIDAY}
    workdays = {d.day for d in days if d.kind == WORKDAY}
    assert holidays == (
        _span(date(2026, 1, 1), date(2026, 1, 3))
        | _span(date(2026, 2, 15), date(2026, 2, 23))
        | _span(date(2026, 4, 4), date(2026, 4, 6))
        | _span(date(2026, 5, 1), date(2026, 5, 5))
        | _span(date(2026, 6, 19), date(2026, 6, 21))
        | _span(date(2026, 9, 25), date(2026, 9, 27))
        | _span(date(2026, 10, 1), date(2026, 10, 7))
    )
    assert len(holidays) == 33
    assert workdays == {
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
        date(2026, 10, 10),
    }  # fmt: skip
    assert [d.day for d in days] == sorted(d.day for d in days)
    national = next(d for d in days if d.day == date(2026, 10, 3))
    assert national.name == "国庆节 假期"


@pytest.mark.parametrize(
    ("summary", "categories", "kind"),
    [
        ("春节 补班", [], WORKDAY),
        ("国庆节 上班", [], WORKDAY),
        ("调休", [], WORKDAY),
        ("劳动节调休", [], WORKDAY),
        ("国庆节（班）", [], WORKDAY),
        ("Make-up working day", [], WORKDAY),
        ("National Day", ["workday"], WORKDAY),
        ("劳动节 放假调休", [], HOLIDAY),
        ("调休放假", [], HOLIDAY),
        ("国庆节（休）", [], HOLIDAY),
        ("Christmas", ["Holiday"], HOLIDAY),
    ],
)
def test_classification(summary: str, categories: list[str], kind: str) -> None:
    assert classify(summary, categories) == kind


def _vcal(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\nUID:{n}@t\r\n{e}END:VEVENT\r\n" for n, e in enumerate(events))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n"


def test_timed_and_single_day_events() -> None:
    text = _vcal(
        "DTSTART:20261224T160000Z\r\nDTEND:20261225T160000Z\r\nSUMMARY:Christmas\r\n",  # 12-25 00:00–24:00 Shanghai
        "DTSTART;VALUE=DATE:20261231\r\nSUMMARY:New Year's Eve\r\n",
        "DTSTART;VALUE=DATE:20261226\r\nDURATION:P2D\r\nSUMMARY:Boxing days\r\n",
    )
    days = parse_ical(text, "Asia/Shanghai")
    assert [(d.day, d.kind) for d in days] == [
        (date(2026, 12, 25), HOLIDAY),
        (date(2026, 12, 26), HOLIDAY),
        (date(2026, 12, 27), HOLIDAY),
        (date(2026, 12, 31), HOLIDAY),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "not an iCalendar file"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "the file has no VEVENT"),
        (_vcal("SUMMARY:no date\r\n"), "event 1 (no date) has no DTSTART"),
        (_vcal("DTSTART;VALUE=DATE:20261001\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:国庆节\r\n"), "repeats (RRULE)"),
        (
            _vcal("DTSTART;VALUE=DATE:20261005\r\nDTEND;VALUE=DATE:20261001\r\nSUMMARY:backwards\r\n"),
            "event 1 (backwards) ends before it starts",
        ),
        (
            _vcal(
                "DTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261008\r\nSUMMARY:国庆节\r\n",
                "DTSTART;VALUE=DATE:20261003\r\nSUMMARY:国庆节 补班\r\n",
            ),
            "2026-10-03 is both a holiday and a working day (国庆节 / 国庆节 补班)",
        ),
    ],
)
def test_malformed_input_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(IcalError) as caught:
        parse_ical(text, "Asia/Shanghai")
    assert message in str(caught.value)
