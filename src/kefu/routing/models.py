"""Routing rows: skills, agents' skills, skill requirements, agents' routing state, the queue entry of a
conversation and transfers (docs/routing.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime
from kefu.routing.policies import Presence


class RequirementKind:
    INTENT = "intent"
    LABEL = "label"
    INBOX = "inbox"
    ALL = ("intent", "label", "inbox")


class Skill(IdMixin, TimestampMixin, Base):
    __tablename__ = "routing_skills"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")


class AgentSkill(Base):
    """An agent's level (1–5) in a skill."""

    __tablename__ = "routing_agent_skills"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("routing_skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)


class SkillRequirement(IdMixin, TimestampMixin, Base):
    """A conversation with this intent / label / inbox needs the skill."""

    __tablename__ = "routing_requirements"
    __table_args__ = (UniqueConstraint("account_id", "kind", "value", "skill_id"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(100))
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("routing_skills.id", ondelete="CASCADE"), index=True)


class AgentRouting(Base):
    """An agent's routing state. The assigner locks these rows, so capacity is checked under the lock."""

    __tablename__ = "routing_agents"
    __table_args__ = (Index("ix_routing_agents_account_presence", "account_id", "presence"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    presence: Mapped[str] = mapped_column(String(8), default=Presence.AWAY)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    channel_capacity: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # channel type → max
    sockets: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # open workspace sockets
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the last one closed
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    presence_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class QueueEntry(Base):
    """Why a conversation waits and what it needs; kept after assignment (how it was assigned)."""

    __tablename__ = "routing_queue"

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # handoff | no_bot | manual | requeued
    intent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    required_skills: Mapped[list[str]] = mapped_column(JsonType, default=list)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    overflow_team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    overflow_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assigned_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)  # sticky | skills | overflow


class Transfer(IdMixin, TimestampMixin, Base):
    __tablename__ = "routing_transfers"
    __table_args__ = (Index("ix_routing_transfers_account_created", "account_id", "created_at"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    to_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    from_team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    to_team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
