"""Contacts (one customer) and their identities on every channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.constants import ContactTier
from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime


class Contact(IdMixin, TimestampMixin, Base):
    __tablename__ = "contacts"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    tier: Mapped[str] = mapped_column(String(20), default=ContactTier.NORMAL)  # a ContactTier
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    # Widget tokens carry the version they were signed with; bumping it signs the visitor out.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The computed tier (a ContactSegment; None until first scored), why, and the churn-risk flag.
    segment: Mapped[str | None] = mapped_column(String(16), nullable=True)
    segment_reasons: Mapped[list[str]] = mapped_column(JsonType, default=list, server_default="[]")
    churn_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when this contact was merged into another (contacts/merge.py): its ids and tokens resolve to that one.
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True, index=True
    )


class ContactIdentity(IdMixin, TimestampMixin, Base):
    """How a channel knows the contact: (kind, value) is unique within an account."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("account_id", "kind", "value"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(254))
    inbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="SET NULL"), nullable=True)


class ContactMerge(IdMixin, TimestampMixin, Base):
    """One merge: `absorbed_id` went into `kept_id`; `moved` records what moved (ids per table, the
    attributes and fields the kept contact took over) so a split can move it back."""

    __tablename__ = "contact_merges"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kept_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    absorbed_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # a MergeReason
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    moved: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    split_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
