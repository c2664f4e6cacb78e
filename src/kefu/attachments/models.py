"""Uploaded files. The bytes live in the database, so every node of a scaled-out install can serve them
without a shared disk; they are loaded only when downloaded (`data` is deferred)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, BigId, IdMixin, TimestampMixin


class Attachment(IdMixin, TimestampMixin, Base):
    __tablename__ = "attachments"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploader_type: Mapped[str] = mapped_column(String(10))  # ActorType: contact | user
    uploader_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
