"""Inboxes: one per channel endpoint (a widget on a site, a mailbox, a WeChat account...)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin


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
