"""The business-hours clock of SLAs: pure functions, no clock, no I/O (docs/sla.md "Business calendars").

A `Calendar` is a weekly schedule in a time zone (`accounts.hours.OpenRange` ranges per weekday) plus
dated exceptions: holidays (the whole local date is closed) and make-up working days (调休: the date is a
working day with the given ranges, whatever its weekday; no ranges given → the hours of the first weekday
Monday … Friday that has any). A range belongs to the date it starts on, so an overnight range that starts
on a working day runs into a holiday. `None` instead of a calendar is 24×7.

- `add_business_time(calendar, start, seconds)` → the instant at which `seconds` of business time have
  passed since `start` (the deadline of a target);
- `business_seconds(calendar, a, b)` → how much business time lies between two instants.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from kefu.accounts.hours import DAYS, DEFAULT_TIMEZONE, OpenRange

SEARCH_DAYS = 3 * 366  # how far ahead a deadline is looked for before the calendar counts as never open


class NeverOpen(ValueError):
    """The calendar has no business time within SEARCH_DAYS of the start."""


@dataclass(frozen=True)
class Calendar:
    timezone: str = DEFAULT_TIMEZONE
    week: Mapping[str, tuple[OpenRange, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    workdays: Mapping[date, tuple[OpenRange, ...]] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def ranges_on(self, day: date) -> tuple[OpenRange, ...]:
        """The ranges that open on the local date `day`."""
        if day in self.workdays:
            return self.workdays[day] or self.weekday_hours()
        if day in self.holidays:
            return ()
        return tuple(self.week.get(DAYS[day.weekday()], ()))

    def weekday_hours(self) -> tuple[OpenRange, ...]:
        for name in DAYS[:5]:
            if self.week.get(name):
                return tuple(self.week[name])
        return ()


def _aware(naive: datetime, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as an aware UTC instant (a time skipped by DST moves forward)."""
    return naive.replace(tzinfo=zone).astimezone(UTC)


def open_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open intervals (aware UTC, merged, in order) that end after `start`."""
    zone = calendar.zone
    first = start.astimezone(zone).date() - timedelta(days=1)  # yesterday's overnight ranges reach today
    pending: tuple[datetime, datetime] | None = None
    for offset in range(SEARCH_DAYS + 2):
        day = first + timedelta(days=offset)
        for r in sorted(calendar.ranges_on(day), key=lambda r: r.start):
            lo, hi = r.span(day)
            a, b = _aware(lo, zone), _aware(hi, zone)
            if pending is not None and a <= pending[1]:
                pending = (pending[0], max(pending[1], b))
                continue
            if pending is not None and pending[1] > start:
                yield pending
            pending = (a, b)
    if pending is not None and pending[1] > start:
        yield pending


def add_business_time(calendar: Calendar | None, start: datetime, seconds: float) -> datetime:
    """The instant `seconds` of business time after `start` (aware). At a closed time the count starts
    when the calendar next opens; a deadline falling exactly on a closing time stays there."""
    if seconds < 0:
        raise ValueError("business time to add cannot be negative")
    start = start.astimezone(UTC)
    if calendar is None:
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    for a, b in open_intervals(calendar, start):
        begin = max(a, start)
        if left <= b - begin:
            return begin + left
        left -= b - begin
    raise NeverOpen("the calendar has no business hours in the next three years")


def business_seconds(calendar: Calendar | None, a: datetime, b: datetime) -> float:
    """Business time between two instants, in seconds (0 when `b` is not after `a`)."""
    if b <= a:
        return 0.0
    if calendar is None:
        return (b - a).total_seconds()
    total = timedelta()
    for lo, hi in open_intervals(calendar, a):
        if lo >= b:
            break
        total += min(hi, b) - max(lo, a)
    return total.total_seconds()


def overlapping(ranges: list[OpenRange]) -> tuple[OpenRange, OpenRange] | None:
    """The first two ranges of one day that overlap, or None."""
    day = date(2000, 1, 3)
    spans = sorted(((r.span(day), r) for r in ranges), key=lambda pair: pair[0])
    for (first, r1), (second, r2) in pairwise(spans):
        if second[0] < first[1]:
            return r1, r2
    return None


def local_midnight(day: date, timezone: str) -> datetime:
    return _aware(datetime.combine(day, time()), ZoneInfo(timezone))
