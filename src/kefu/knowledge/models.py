"""Knowledge base: FAQ entries (question variants → answer), articles, and their version history.

Every edit bumps `version` and writes one `KnowledgeVersion` snapshot (docs/knowledge.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime


class _Entry(IdMixin, TimestampMixin):
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list[str]] = mapped_column(JsonType, default=list)
    language: Mapped[str] = mapped_column(String(16), default="zh")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class FaqEntry(_Entry, Base):
    __tablename__ = "knowledge_faqs"
    __table_args__ = (Index("ix_knowledge_faqs_account_id_status", "account_id", "status"),)

    question: Mapped[str] = mapped_column(String(500))
    variants: Mapped[list[str]] = mapped_column(JsonType, default=list)
    answer: Mapped[str] = mapped_column(Text)


class Article(_Entry, Base):
    __tablename__ = "knowledge_articles"
    __table_args__ = (Index("ix_knowledge_articles_account_id_status", "account_id", "status"),)

    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    body_format: Mapped[str] = mapped_column(String(16), default="markdown")


class KnowledgeVersion(IdMixin, TimestampMixin, Base):
    """One snapshot per version of an entry (kind "faq" | "article")."""

    __tablename__ = "knowledge_versions"
    __table_args__ = (
        UniqueConstraint("entry_kind", "entry_id", "version"),
        Index("ix_knowledge_versions_account_id_entry", "account_id", "entry_kind", "entry_id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    entry_kind: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[int] = mapped_column(BigId)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType)
    editor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class DismissedQuestion(IdMixin, TimestampMixin, Base):
    """A customer's unanswered question an admin dismissed from the FAQ suggestions."""

    __tablename__ = "knowledge_dismissed_questions"
    __table_args__ = (UniqueConstraint("account_id", "message_id"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class SearchVersion(Base):
    """The account's knowledge version: bumped in the same transaction as every FAQ/article write, so an
    app node's search cache can tell it is stale by reading this one row (docs/adr/0006-search-backend.md)."""

    __tablename__ = "knowledge_search_versions"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
