"""Request and response models of kefu.sla (docs/api.md "SLA")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kefu.accounts.hours import DAYS, DEFAULT_TIMEZONE, BusinessHours, OpenRange
from kefu.core.constants import Priority
from kefu.core.schemas import Id, PatchModel, ReadModel, ShortName, StrictModel
from kefu.sla.calendar import overlapping
from kefu.sla.models import DayKind, PolicyTier

MAX_TARGET_MIN = 366 * 24 * 60  # a year
Minutes = Field(ge=1, le=MAX_TARGET_MIN, description="minutes of business time (1 … 527040)")
Week = dict[str, list[OpenRange]]


def check_ranges(where: str, ranges: list[OpenRange]) -> list[OpenRange]:
    if len(ranges) > 6:
        raise ValueError(f"{where}: at most 6 ranges a day")
    pair = overlapping(ranges)
    if pair is not None:
        a, b = pair
        raise ValueError(f"{where}: {a.start}-{a.end} overlaps {b.start}-{b.end}")
    return sorted(ranges, key=lambda r: r.start)


def check_week(week: Week) -> Week:
    unknown = sorted(set(week) - set(DAYS))
    if unknown:
        raise ValueError(f"unknown day {', '.join(unknown)}; days are {', '.join(DAYS)}")
    return {d: check_ranges(d, week.get(d, [])) for d in DAYS}


def check_zone(zone: str) -> str:
    BusinessHours(timezone=zone)  # the one list of known zones
    return zone


class CalendarCreate(StrictModel):
    name: ShortName
    timezone: str = Field(DEFAULT_TIMEZONE, max_length=64, description="IANA time zone", examples=["Asia/Shanghai"])
    week: Week = Field(description="mon … sun → opening ranges; a day left out is closed")

    _zone = field_validator("timezone")(check_zone)
    _week = field_validator("week")(check_week)


class CalendarUpdate(PatchModel):
    name: ShortName | None = None
    timezone: str | None = Field(None, max_length=64)
    week: Week | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return None if v is None else check_zone(v)

    @field_validator("week")
    @classmethod
    def _week(cls, v: Week | None) -> Week | None:
        return None if v is None else check_week(v)


class CalendarDayCreate(StrictModel):
    day: date
    kind: DayKind
    name: str = Field("", max_length=120)
    hours: list[OpenRange] = Field(
        default_factory=list, description="a working day's own ranges; none: the weekday hours (holidays: none)"
    )

    @model_validator(mode="after")
    def _hours(self) -> CalendarDayCreate:
        if self.kind == DayKind.HOLIDAY and self.hours:
            raise ValueError("a holiday is closed all day: give no hours")
        self.hours = check_ranges(self.day.isoformat(), self.hours)
        return self


class CalendarDayRead(ReadModel):
    id: int
    day: date
    kind: DayKind
    name: str
    hours: list[OpenRange]


class CalendarRead(ReadModel):
    id: int
    name: str
    timezone: str
    week: dict[str, list[OpenRange]]
    days: list[CalendarDayRead] = Field(default_factory=list)
    created_at: datetime


class CalendarImported(ReadModel):
    calendar: CalendarRead
    added: int = Field(description="dates added")
    updated: int = Field(description="dates already there with the same kind (their name refreshed)")


class _Targets(StrictModel):
    @model_validator(mode="after")
    def _order(self) -> Any:
        first, resolution = getattr(self, "first_response_min", None), getattr(self, "resolution_min", None)
        if first is not None and resolution is not None and resolution < first:
            raise ValueError("resolution_min must not be shorter than first_response_min")
        return self


class PolicyCreate(_Targets):
    priority: Priority
    tier: PolicyTier = PolicyTier.ANY
    first_response_min: int = Minutes
    next_response_min: int = Minutes
    resolution_min: int = Minutes
    warn_fraction: float = Field(0.8, gt=0, lt=1, description="warn when this fraction of a target has passed")
    calendar_id: Id | None = Field(None, description="the business calendar; null: 24×7")


class PolicyUpdate(PatchModel, _Targets):
    NULLABLE = frozenset({"calendar_id"})
    first_response_min: int | None = Field(None, ge=1, le=MAX_TARGET_MIN)
    next_response_min: int | None = Field(None, ge=1, le=MAX_TARGET_MIN)
    resolution_min: int | None = Field(None, ge=1, le=MAX_TARGET_MIN)
    warn_fraction: float | None = Field(None, gt=0, lt=1)
    calendar_id: Id | None = None


class PolicyRead(ReadModel):
    id: int | None = Field(description="null: the built-in default (no stored policy)")
    priority: Priority
    tier: PolicyTier
    first_response_min: int
    next_response_min: int
    resolution_min: int
    warn_fraction: float
    calendar_id: int | None


class ClockRead(ReadModel):
    id: int
    metric: str
    state: Literal["running", "paused", "stopped"]
    priority: str
    target_s: int = Field(description="the target in business seconds")
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    paused_at: datetime | None
    stopped_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    remaining_s: int = Field(description="business seconds left (negative: overdue); frozen while paused or stopped")


class SubjectSla(ReadModel):
    subject_type: str
    subject_id: int
    sla_due_at: datetime | None = Field(description="the nearest deadline of a running clock")
    clocks: list[ClockRead]
