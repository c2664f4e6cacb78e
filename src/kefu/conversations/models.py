"""Conversations, their messages and labels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.constants import ConversationStatus, Priority
from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_account_activity", "account_id", "last_activity_at", "id"),
        Index("ix_conversations_account_status", "account_id", "status"),
        Index("ix_conversations_queue", "account_id", "waiting_since"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ConversationStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(4), default=Priority.P3)
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_incoming_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bot_state: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # The queue (kefu.routing): when it started waiting for a person (None: not waiting), the nearest running
    # SLA deadline (kept by kefu.sla) and why it has its priority (kefu.routing.priority).
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    priority_reasons: Mapped[list[str]] = mapped_column(JsonType, default=list, server_default="[]")
    # Continuity "linked" (docs/customers.md): the contact's open conversation in another inbox when this began.
    linked_conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
    )


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"
    __table_args__ = (Index("ix_conversation_labels_account_label", "account_id", "label"),)

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))


class DeliveryStatus(StrEnum):
    """Where an outgoing message stands with a channel that delivers it itself (email, WeChat …). Messages
    that need no delivery — incoming ones, notes, the widget's, which reach it on its socket — have none."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Message(IdMixin, TimestampMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_message_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    sender_type: Mapped[str] = mapped_column(String(10))
    sender_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    content: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    client_message_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    delivery_status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    delivery_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The inbox (channel) the message came through or goes out on; None: the conversation's inbox.
    inbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="SET NULL"), nullable=True)
