"""Automation rules (event + conditions + actions), their runs, and which rules caused an event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime


class AutomationRule(IdMixin, TimestampMixin, Base):
    """A rule of an account: on `event_type`, when the conditions hold (`match`: all | any), run the actions.
    The enabled rules of an account run in `position` order (then id)."""

    __tablename__ = "automation_rules"
    __table_args__ = (Index("ix_automation_rules_account_event", "account_id", "event_type", "position"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(64))
    match: Mapped[str] = mapped_column(String(3), default="all")
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class RuleRun(IdMixin, TimestampMixin, Base):
    """One run of a rule on one event: what each action did (`results`), or why it was skipped."""

    __tablename__ = "automation_rule_runs"
    __table_args__ = (
        Index("ix_automation_rule_runs_account_id_id", "account_id", "id"),
        Index("ix_automation_rule_runs_rule_id_id", "rule_id", "id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(BigId, ForeignKey("automation_rules.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigId)
    event_type: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # a RunOutcome
    results: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)


class EventCause(Base):
    """An event written by a rule's actions: the chain of rule ids that led to it (loop protection)."""

    __tablename__ = "automation_event_causes"

    event_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    rule_ids: Mapped[list[int]] = mapped_column(JsonType, default=list)
