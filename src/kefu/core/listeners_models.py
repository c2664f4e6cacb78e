"""Tables of the durable event listeners (core/listeners.py): one cursor per listener, and the events a
listener failed on (retried, then dead-lettered for an admin to retry or dismiss)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime


class DeadLetterStatus(StrEnum):
    PENDING = "pending"  # failed, being retried with backoff; the listener waits for it (order is kept)
    DEAD = "dead"  # failed on every attempt; the listener moved on; an admin may retry or dismiss it
    RESOLVED = "resolved"  # a later attempt succeeded, or an admin dismissed it


class ListenerCursor(Base):
    """Every event with an id up to `last_event_id` has been handled (or dead-lettered) by `name`."""

    __tablename__ = "listener_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DeadLetter(IdMixin, TimestampMixin, Base):
    __tablename__ = "listener_dead_letters"
    __table_args__ = (
        UniqueConstraint("listener", "event_id"),
        Index("ix_listener_dead_letters_account_id_status", "account_id", "status"),
    )

    listener: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=DeadLetterStatus.PENDING)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
