"""The bot's configuration per account: intents (with examples), flows, settings, trained intent models,
the wording of its fixed replies.

A conversation's dialogue state is not here: it lives in `Conversation.bot_state` (see docs/bot.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.core.db import Base, BigId, IdMixin, JsonType, TimestampMixin, UTCDateTime


class BotFlow(IdMixin, TimestampMixin, Base):
    """A declarative multi-turn flow (slots, prompts, an HTTP action, a reply template) — see flows.py."""

    __tablename__ = "bot_flows"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class BotIntent(IdMixin, TimestampMixin, Base):
    """What a customer may want. `examples` train the account's intent model (zh and en mixed);
    `handoff` sends the conversation to a human; `flow_id` starts a flow; `reply` is a canned answer
    per language ({"zh": …, "en": …})."""

    __tablename__ = "bot_intents"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    examples: Mapped[list[str]] = mapped_column(JsonType, default=list)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    flow_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("bot_flows.id", ondelete="SET NULL"), nullable=True)
    reply: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    # FAQ entries asking the same thing: with few examples, their published questions and variants train too
    faq_ids: Mapped[list[int]] = mapped_column(JsonType, default=list, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class BotSettings(IdMixin, Base):
    """Thresholds and handoff rules of one account's bot (one row per account, created on first write)."""

    __tablename__ = "bot_settings"
    __table_args__ = (UniqueConstraint("account_id"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    answer_min_score: Mapped[float] = mapped_column(Float)
    clarify_margin: Mapped[float] = mapped_column(Float)
    calibrated_answers: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    oos_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    # {"keywords": [...], "anger": bool, "oos_twice": bool, "low_confidence": bool, "vip_tiers": [...]}
    handoff_rules: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    greeting: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class BotModel(IdMixin, Base):
    """A trained intent model of one account (kefu.nlp.intent bytes); exactly one is active."""

    __tablename__ = "bot_models"
    __table_args__ = (UniqueConstraint("account_id", "version"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class BotText(IdMixin, Base):
    """An account's own wording of one of the bot's fixed replies (kefu.bot.texts) in one locale; no row:
    the default from the .po files."""

    __tablename__ = "bot_texts"
    __table_args__ = (UniqueConstraint("account_id", "key", "locale"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class BotTraining(IdMixin, Base):
    """One training of an account's intent model and where it stands, for the admin (kefu.bot.tasks).

    `kind` "quick": the ensemble without fine-tuning, trained right after an edit; its states are training →
    ready (its model is active) → replaced (its fine-tuned copy took over), or cancelled (a newer edit came
    first) / failed. `kind` "finetune": the fine-tuned copy trained after a quick model, queued → training →
    ready (it replaced the quick model: better on the calibration slice) or dropped (not better: the quick
    model stays), or cancelled / failed. `progress` is 0–1; `stage` says what it is doing."""

    __tablename__ = "bot_trainings"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(64), default="")
    examples_hash: Mapped[str] = mapped_column(String(32), default="")
    model_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("bot_models.id", ondelete="SET NULL"), nullable=True)
    quick_id: Mapped[int | None] = mapped_column(BigId, nullable=True)  # a fine-tuning: the quick training it follows
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
