"""Inboxes: one per channel endpoint (a widget on a site, a mailbox, a WeChat account...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime


class Inbox(IdMixin, TimestampMixin, Base):
    __tablename__ = "inboxes"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    channel_type: Mapped[str] = mapped_column(String(20))
    # Public identifier used by the widget snippet and channel webhooks; not a secret.
    public_key: Mapped[str] = mapped_column(String(40), unique=True)
    greeting: Mapped[str] = mapped_column(Text, default="")
    bot_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class ChannelState(Base):
    """A value a channel keeps for an inbox between requests, shared by every node: an API access token
    (with its expiry), a message-sync cursor. One row per (inbox, name)."""

    __tablename__ = "channel_states"
    __table_args__ = (UniqueConstraint("inbox_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
