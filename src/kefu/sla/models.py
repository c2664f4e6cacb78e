"""SLA policies (priority × tier), business calendars with their dated exceptions, and SLA clocks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SubjectType(StrEnum):
    CONVERSATION = "conversation"
    TICKET = "ticket"


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # closed all day
    WORKDAY = "workday"  # a make-up working day (调休): open with its hours, or the weekday hours


class PolicyTier(StrEnum):
    """The contact tier a policy applies to: the simple level (contacts.tier) or any."""

    ANY = "any"
    NORMAL = "normal"
    VIP = "vip"
    GOLD = "gold"


class SlaCalendar(IdMixin, TimestampMixin, Base):
    __tablename__ = "sla_calendars"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64))
    week: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # mon … sun → [{"start","end"}]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlaCalendarDay(IdMixin, Base):
    __tablename__ = "sla_calendar_days"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    calendar_id: Mapped[int] = mapped_column(BigId, ForeignKey("sla_calendars.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))  # a DayKind
    name: Mapped[str] = mapped_column(String(120), default="")
    hours: Mapped[list[dict[str, str]]] = mapped_column(JsonType, default=list)  # a workday's own ranges


class SlaPolicy(IdMixin, TimestampMixin, Base):
    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("account_id", "priority", "tier"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    priority: Mapped[str] = mapped_column(String(4))  # a Priority
    tier: Mapped[str] = mapped_column(String(10))  # a PolicyTier
    first_response_min: Mapped[int] = mapped_column(Integer)
    next_response_min: Mapped[int] = mapped_column(Integer)
    resolution_min: Mapped[int] = mapped_column(Integer)
    warn_fraction: Mapped[float] = mapped_column(Float)
    calendar_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_calendars.id", ondelete="RESTRICT"), nullable=True, index=True
    )  # None: 24×7
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlaClock(IdMixin, Base):
    """One target of one subject: running (stopped_at NULL), paused (paused_at set) or stopped. Times of
    business seconds: `target_s` the policy's target, `paused_s` the business time spent paused so far."""

    __tablename__ = "sla_clocks"
    __table_args__ = (
        Index("ix_sla_clocks_subject", "account_id", "subject_type", "subject_id"),
        Index("ix_sla_clocks_due", "stopped_at", "due_at"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(16))  # a SubjectType
    subject_id: Mapped[int] = mapped_column(BigId)
    metric: Mapped[str] = mapped_column(String(16))  # a Metric
    priority: Mapped[str] = mapped_column(String(4))
    policy_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_policies.id", ondelete="SET NULL"), nullable=True
    )  # None: the built-in default
    calendar_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_calendars.id", ondelete="SET NULL"), nullable=True
    )
    target_s: Mapped[int] = mapped_column(Integer)
    warn_fraction: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_s: Mapped[int] = mapped_column(Integer, default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
