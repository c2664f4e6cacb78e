"""Tickets (工单), their timeline, links to conversations, custom field definitions, saved views, repeat
contacts and the per-day counts behind the repeat-contact rate."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.constants import Priority
from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime
from kefu.tickets.states import TicketStatus


class Ticket(IdMixin, TimestampMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("account_id", "number"),
        Index("ix_tickets_account_status", "account_id", "status"),
        Index("ix_tickets_account_contact", "account_id", "contact_id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # per account, shown as #1001
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.NEW)
    priority: Mapped[str] = mapped_column(String(4), default=Priority.P3)
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    source: Mapped[str] = mapped_column(String(16), default="agent")  # agent | api | conversation | rule
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TicketConversation(Base):
    """A conversation linked to a ticket: created from it, linked by hand, or a repeat contact."""

    __tablename__ = "ticket_conversations"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # created_from | manual | repeat_contact
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TicketActivity(IdMixin, TimestampMixin, Base):
    """One entry of a ticket's timeline: who (actor), what (kind + data), when. Notes are entries too."""

    __tablename__ = "ticket_activities"
    __table_args__ = (Index("ix_ticket_activities_ticket_id", "ticket_id", "id"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    kind: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")  # a note's text


class TicketField(IdMixin, TimestampMixin, Base):
    """An admin-defined custom field: text, number, select (one of `options`) or date."""

    __tablename__ = "ticket_fields"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(8))
    options: Mapped[list[str]] = mapped_column(JsonType, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TicketView(IdMixin, TimestampMixin, Base):
    """A user's saved view: a named filter of the ticket list."""

    __tablename__ = "ticket_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class RepeatContact(IdMixin, TimestampMixin, Base):
    """A conversation whose first customer message was about a ticket the same contact already had."""

    __tablename__ = "repeat_contacts"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"), unique=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    similarity: Mapped[float] = mapped_column(Float)


class TicketDailyStat(Base):
    """Per account and day (in the account's time zone): new conversations and repeat contacts among them."""

    __tablename__ = "ticket_daily_stats"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    conversations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    repeat_contacts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
