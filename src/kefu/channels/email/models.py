"""What the IMAP poller remembers per mailbox (not the user-edited inbox config): the folder's
UIDVALIDITY and the last UID handed to the inbound path, the lease that lets one node poll a mailbox at a
time, and how the last poll went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, BigId, UTCDateTime


class EmailMailbox(Base):
    __tablename__ = "email_mailboxes"

    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    idle_supported: Mapped[bool] = mapped_column(Boolean, default=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
