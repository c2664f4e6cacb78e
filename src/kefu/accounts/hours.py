"""Business hours of an account: a weekly schedule in the account's time zone (default Asia/Shanghai).

`BusinessHours.is_open(at)` and `BusinessHours.next_open(at)` are pure (no clock, no I/O): `at` is an aware
datetime, the answer is computed in the schedule's zone. A range whose end is not after its start runs
overnight into the next day ("22:00"–"02:00" on Friday is open Friday 22:00 until Saturday 02:00); "24:00"
ends a range at midnight. `always_open` (the default) ignores the week: nothing changes for an account
that never set hours. Stored in `Account.settings["business_hours"]` (the week) and `Account.timezone`.
API: docs/api.md "Business hours"; the bot's use of them: docs/bot.md "Handoff".
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
DEFAULT_TIMEZONE = "Asia/Shanghai"
_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class OpenRange(BaseModel):
    """One opening on a day, local wall-clock times "HH:MM"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(description='"HH:MM", 00:00–23:59', examples=["09:00"])
    end: str = Field(description='"HH:MM" or "24:00"; not after start: runs overnight', examples=["18:00"])

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not _CLOCK.match(v):
            raise ValueError(f"{v!r} is not a time of day as HH:MM (00:00–23:59, or 24:00 as an end)")
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> OpenRange:
        if self.start == "24:00":
            raise ValueError("a range cannot start at 24:00; use 00:00")
        if _minutes(self.start) == _minutes(self.end):
            raise ValueError(f"range {self.start}–{self.end} is empty; use 00:00–24:00 for the whole day")
        return self

    @property
    def overnight(self) -> bool:
        return _minutes(self.end) < _minutes(self.start)

    def span(self, day: date) -> tuple[datetime, datetime]:
        """Naive local start and end of this range when it opens on `day`."""
        start = datetime.combine(day, time()) + timedelta(minutes=_minutes(self.start))
        end = datetime.combine(day, time()) + timedelta(minutes=_minutes(self.end))
        return start, end + timedelta(days=1) if self.overnight else end


def _empty_week() -> dict[str, list[OpenRange]]:
    return {d: [] for d in DAYS}


class BusinessHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(DEFAULT_TIMEZONE, description="IANA time zone of the schedule", examples=["Asia/Shanghai"])
    always_open: bool = Field(True, description="open around the clock; the week is kept but not used")
    week: dict[str, list[OpenRange]] = Field(
        default_factory=_empty_week, description="mon … sun → opening ranges (a day left out or [] is closed)"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if v not in _zones():
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai")
        return v

    @field_validator("week")
    @classmethod
    def _days(cls, v: dict[str, list[OpenRange]]) -> dict[str, list[OpenRange]]:
        unknown = sorted(set(v) - set(DAYS))
        if unknown:
            raise ValueError(f"unknown day {', '.join(unknown)}; days are {', '.join(DAYS)}")
        for day, ranges in v.items():
            if len(ranges) > 6:
                raise ValueError(f"{day}: at most 6 ranges a day")
        return {d: sorted(v.get(d, []), key=lambda r: _minutes(r.start)) for d in DAYS}

    # ---- the two questions -------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether someone is at work at the instant `at` (aware)."""
        if self.always_open:
            return True
        local = _local(at, self.zone).replace(tzinfo=None)
        for offset in (-1, 0):  # yesterday's overnight ranges reach into today
            day = local.date() + timedelta(days=offset)
            for r in self.week[DAYS[day.weekday()]]:
                start, end = r.span(day)
                if start <= local < end:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime | None:
        """`at` itself when open, else the next instant the hours open (aware, in the schedule's zone);
        None when no day has any range (never open)."""
        if self.is_open(at):
            return at
        local = _local(at, self.zone)
        naive = local.replace(tzinfo=None)
        for offset in range(8):
            day = naive.date() + timedelta(days=offset)
            for r in self.week[DAYS[day.weekday()]]:
                start, _ = r.span(day)
                opens = _aware(start, self.zone)
                if opens > local:
                    return opens
        return None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        raise ValueError("business hours need an aware datetime")
    return at.astimezone(zone)


def _aware(naive: datetime, zone: ZoneInfo) -> datetime:
    """A local wall-clock time in `zone`; one skipped by a DST jump moves to the first instant after it."""
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(ZoneInfo("UTC")).astimezone(zone)


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def parse_ranges(day: str, text: str) -> list[dict[str, str]]:
    """A day's ranges as typed in the admin form — "09:00-12:00, 13:00-18:00" (– or ~ also separate a
    range; an empty text is a closed day) — as `OpenRange` data; ValueError says which part is wrong."""
    ranges = []
    for part in re.split(r"[,，;；\s]+", text.strip()):
        if not part:
            continue
        bounds = re.split(r"[-–~～]", part)
        if len(bounds) != 2:
            raise ValueError(f"{day}: {part!r} is not a range like 09:00-18:00")
        ranges.append({"start": bounds[0].strip(), "end": bounds[1].strip()})
    return ranges


def format_ranges(ranges: list[OpenRange]) -> str:
    return ", ".join(f"{r.start}-{r.end}" for r in ranges)


def hours_of(settings: dict[str, Any] | None, timezone: str | None) -> BusinessHours:
    """The business hours stored on an account (`Account.settings`, `Account.timezone`); always open when
    none were set. A zone this machine does not know falls back to the default rather than failing."""
    stored = dict((settings or {}).get("business_hours") or {})
    zone = timezone or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = DEFAULT_TIMEZONE
    return BusinessHours.model_validate({**stored, "timezone": zone})
