"""iCalendar (RFC 5545) import of holidays and make-up working days — pure: text in, dated entries out.

How a VEVENT becomes calendar days (docs/sla.md "Importing iCal"):

- its dates: an all-day event (DTSTART;VALUE=DATE) covers DTSTART up to DTEND exclusive (DTEND missing: one
  day; DURATION is honoured); a timed event covers the local dates (in the calendar's time zone) it touches.
  A multi-day event expands to each date. RRULE is refused (holiday calendars list each year's dates);
- its kind: a **working day** (调休 make-up day, the weekday hours apply) when SUMMARY or CATEGORIES contain
  补班, 上班, 工作日, 班） / 班), "workday", "working day" or "make-up", or contain 调休 without 休/放假/假期
  after it (「调休」 alone is the make-up day; 「放假调休」 is the holiday); everything else is a **holiday**.

Malformed text, an event without a date, an RRULE, a date that is both a holiday and a working day, or more
than MAX_DAYS dates → `IcalError` saying what is wrong (the caller answers 422 and saves nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

MAX_DAYS = 2000
MAX_EVENT_DAYS = 366
HOLIDAY = "holiday"
WORKDAY = "workday"
_WORK = re.compile(r"补班|上班|工作日|班[）)]|workday|working day|make-up|makeup", re.IGNORECASE)
_REST_AFTER_TIAOXIU = re.compile(r"调休.*(休|放假|假期)|放假调休|(休|放假|假期).*调休")


class IcalError(ValueError):
    """The iCal text cannot be imported; the message says why."""


@dataclass(frozen=True)
class ImportedDay:
    day: date
    kind: str  # HOLIDAY | WORKDAY
    name: str


def classify(summary: str, categories: list[str]) -> str:
    """WORKDAY or HOLIDAY for an event's SUMMARY and CATEGORIES (rules in the module doc)."""
    for text in (summary, *categories):
        if _WORK.search(text):
            return WORKDAY
        if "调休" in text and not _REST_AFTER_TIAOXIU.search(text):
            return WORKDAY
    return HOLIDAY


def _categories(event: Any) -> list[str]:
    raw = event.get("CATEGORIES")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [str(c) for item in items for c in getattr(item, "cats", [item])]


def _as_date(value: date | datetime, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(zone) if value.tzinfo else value).date()
    return value


def _dates(event: Any, zone: ZoneInfo, where: str) -> list[date]:
    start_prop = event.get("DTSTART")
    if start_prop is None:
        raise IcalError(f"{where} has no DTSTART")
    start = start_prop.dt
    if event.get("RRULE") is not None:
        raise IcalError(f"{where} repeats (RRULE); list each date as its own event")
    end_prop, duration = event.get("DTEND"), event.get("DURATION")
    end = end_prop.dt if end_prop is not None else (start + duration.dt if duration is not None else None)
    first = _as_date(start, zone)
    if isinstance(start, datetime):
        last = first if end is None else _as_date(end - timedelta(microseconds=1), zone)
    else:
        last = first if end is None else _as_date(end, zone) - timedelta(days=1)
    if last < first:
        raise IcalError(f"{where} ends before it starts")
    if (last - first).days >= MAX_EVENT_DAYS:
        raise IcalError(f"{where} is longer than {MAX_EVENT_DAYS} days")
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def parse_ical(text: str | bytes, timezone: str) -> list[ImportedDay]:
    """The days an iCal text declares, sorted by date (see the module doc)."""
    try:
        cal = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise IcalError(f"not an iCalendar file: {exc}") from None
    if getattr(cal, "name", "") != "VCALENDAR":
        raise IcalError("not an iCalendar file: it must start with BEGIN:VCALENDAR")
    zone = ZoneInfo(timezone)
    days: dict[date, ImportedDay] = {}
    events = cal.walk("VEVENT")
    if not events:
        raise IcalError("the file has no VEVENT")
    for n, event in enumerate(events, start=1):
        summary = str(event.get("SUMMARY", "")).strip()
        where = f"event {n} ({summary or 'no summary'})"
        try:
            dates = _dates(event, zone, where)
        except (AttributeError, TypeError, ValueError) as exc:
            if isinstance(exc, IcalError):
                raise
            raise IcalError(f"{where} has an unreadable date: {exc}") from None
        kind = classify(summary, _categories(event))
        for day in dates:
            seen = days.get(day)
            if seen is not None and seen.kind != kind:
                raise IcalError(f"{day.isoformat()} is both a holiday and a working day ({seen.name} / {summary})")
            days[day] = ImportedDay(day, kind, summary[:120])
        if len(days) > MAX_DAYS:
            raise IcalError(f"more than {MAX_DAYS} dates in one import")
    return [days[d] for d in sorted(days)]
