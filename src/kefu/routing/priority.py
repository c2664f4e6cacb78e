"""Priority P1–P4 from urgency × importance (紧急/重要 matrix), with the reasons (docs/staffing.md).

`assess_priority` is what the assigner calls when a conversation enters the queue; it reads what it needs
and hands it to the pure `decide`, which returns the priority and the reasons shown on the conversation
and in the API.

Rule order of `decide`:
1. urgent when the customer's latest message holds one of the account's keywords (always checked — the
   only source when the bot is off), when the bot's last decision named an intent listed as urgent, or
   when that decision carried the NLP engine's anger / urgency flag (each source can be switched off);
2. important when the contact's tier is listed (vip, gold by default), its segment is listed (strategic,
   value), or its value attribute reaches the threshold;
3. the matrix cell of (urgent, important) is the priority. Reasons: "urgent: keyword 退款失败",
   "urgent: intent payment_failed", "urgent: anger", "urgent: urgency", "important: tier vip",
   "important: segment strategic", "important: value 12000 ≥ 10000" — in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation, Message
from kefu.core.constants import Direction, EventType, MessageKind
from kefu.core.eventlog import Event
from kefu.nlp.normalise import normalise
from kefu.routing.priority_config import PriorityConfig, config_of


@dataclass(frozen=True)
class MessageSignals:
    """What the latest customer message says, and what the bot's last decision made of it."""

    text: str = ""
    intent: str | None = None  # the bot's last decision; None when the bot is off or did not decide
    anger: bool = False
    urgency: bool = False


@dataclass(frozen=True)
class Customer:
    tier: str = "normal"
    segment: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


def urgency_reasons(config: PriorityConfig, signals: MessageSignals) -> list[str]:
    rules = config.urgency
    folded = normalise(signals.text) if signals.text else ""
    reasons = [f"urgent: keyword {k}" for k in rules.keywords if normalise(k) and normalise(k) in folded]
    if signals.intent and signals.intent in rules.intents:
        reasons.append(f"urgent: intent {signals.intent}")
    if rules.anger and signals.anger:
        reasons.append("urgent: anger")
    if rules.urgency and signals.urgency:
        reasons.append("urgent: urgency")
    return reasons


def importance_reasons(config: PriorityConfig, customer: Customer) -> list[str]:
    rules = config.importance
    reasons = []
    if customer.tier in rules.tiers:
        reasons.append(f"important: tier {customer.tier}")
    if customer.segment and customer.segment in rules.segments:
        reasons.append(f"important: segment {customer.segment}")
    value = _number(customer.attributes.get(rules.value_attribute))
    if rules.value_threshold is not None and value is not None and value >= rules.value_threshold:
        reasons.append(f"important: {rules.value_attribute} {_fmt(value)} ≥ {_fmt(rules.value_threshold)}")
    return reasons


def decide(config: PriorityConfig, signals: MessageSignals, customer: Customer) -> tuple[str, list[str]]:
    urgent = urgency_reasons(config, signals)
    important = importance_reasons(config, customer)
    m = config.matrix
    cell = {(True, True): m.urgent_important, (True, False): m.urgent, (False, True): m.important}
    priority = cell.get((bool(urgent), bool(important)), m.routine)
    return str(priority), urgent + important


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.replace(",", "").strip())
        except ValueError:
            return None
    return None


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


# ---- reading the inputs ---------------------------------------------------------------------------


async def load_config(session: AsyncSession, account_id: int) -> PriorityConfig:
    settings = await session.scalar(select(Account.settings).where(Account.id == account_id))
    return config_of(settings)


async def _latest_text(session: AsyncSession, conv: Conversation) -> str:
    q = (
        select(Message.content)
        .where(
            Message.conversation_id == conv.id,
            Message.direction == Direction.INCOMING,
            Message.kind == MessageKind.TEXT,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    return (await session.scalar(q)) or ""


async def _bot_signals(session: AsyncSession, conv: Conversation) -> tuple[str | None, bool, bool]:
    """The intent and the anger / urgency flags of the bot's last decision on the conversation."""
    q = (
        select(Event.payload)
        .where(
            Event.account_id == conv.account_id,
            Event.conversation_id == conv.id,
            Event.type == EventType.BOT_DECIDED,
        )
        .order_by(Event.id.desc())
        .limit(1)
    )
    payload = await session.scalar(q)
    scores = (payload or {}).get("scores") or {}
    intent = scores.get("intent") or ((conv.bot_state or {}).get("handoff") or {}).get("intent")
    return (str(intent) if intent else None), bool(scores.get("anger")), bool(scores.get("urgency"))


async def gather(session: AsyncSession, conv: Conversation) -> tuple[MessageSignals, Customer]:
    intent, anger, urgency = await _bot_signals(session, conv)
    signals = MessageSignals(await _latest_text(session, conv), intent, anger, urgency)
    contact = await session.get(Contact, conv.contact_id)
    if contact is None:
        return signals, Customer()
    return signals, Customer(contact.tier, contact.segment, dict(contact.attributes or {}))


async def assess_priority(session: AsyncSession, conv: Conversation) -> tuple[str, list[str]]:
    """The priority for `conv` now and why (reads only; the caller stores it)."""
    config = await load_config(session, conv.account_id)
    signals, customer = await gather(session, conv)
    return decide(config, signals, customer)
