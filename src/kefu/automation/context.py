"""The flat context a rule's conditions read (evaluator.FIELDS), built from an event and the rows it names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation, Message
from kefu.conversations.service import labels_of
from kefu.core.constants import ConversationStatus, EventType
from kefu.core.listeners import ListenedEvent


@dataclass
class Subject:
    """What an event is about: its conversation and contact (when it has them) and the context."""

    conversation: Conversation | None
    contact: Contact | None
    context: dict[str, Any]


def _conversation_id(event: ListenedEvent) -> int | None:
    p = event.payload
    if event.type.startswith("sla.") and p.get("subject_type") == "conversation":
        return int(p["subject_id"])
    if event.type.startswith("ticket.") and p.get("conversation_id"):
        return int(p["conversation_id"])
    return event.conversation_id


def _contact_id(event: ListenedEvent) -> int | None:
    if event.type == EventType.CONTACT_TIER_CHANGED:
        return int(event.payload["id"])
    return event.contact_id


async def _latest_open(session: AsyncSession, account_id: int, contact_id: int) -> Conversation | None:
    q = (
        select(Conversation)
        .where(
            Conversation.account_id == account_id,
            Conversation.contact_id == contact_id,
            Conversation.status != ConversationStatus.RESOLVED,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    return (await session.execute(q)).scalar_one_or_none()


async def load_subject(session: AsyncSession, event: ListenedEvent) -> Subject:
    conv: Conversation | None = None
    conv_id = _conversation_id(event)
    if conv_id is not None:
        conv = await session.get(Conversation, conv_id)
        if conv is not None and conv.account_id != event.account_id:
            conv = None
    contact_id = conv.contact_id if conv is not None else _contact_id(event)
    contact = await session.get(Contact, contact_id) if contact_id is not None else None
    if contact is not None and contact.account_id != event.account_id:
        contact = None
    if conv is None and contact is not None and event.type == EventType.CONTACT_TIER_CHANGED:
        conv = await _latest_open(session, event.account_id, contact.id)
    ctx: dict[str, Any] = {"event.type": event.type, "event.actor_type": event.actor_type}
    if conv is not None:
        ctx.update(await _conversation_fields(session, conv))
    if contact is not None:
        ctx.update(_contact_fields(contact))
    ctx.update(await _event_fields(session, event))
    return Subject(conv, contact, ctx)


async def _conversation_fields(session: AsyncSession, conv: Conversation) -> dict[str, Any]:
    labels = (await labels_of(session, [conv.id])).get(conv.id, [])
    channel = await session.scalar(select(Inbox.channel_type).where(Inbox.id == conv.inbox_id))
    return {
        "conversation.id": conv.id,
        "conversation.priority": conv.priority,
        "conversation.status": conv.status,
        "conversation.inbox_id": conv.inbox_id,
        "conversation.team_id": conv.team_id,
        "conversation.assignee_id": conv.assignee_id,
        "conversation.labels": sorted(labels),
        "conversation.channel": channel,
        "conversation.subject": conv.subject,
        "conversation.priority_reasons": list(conv.priority_reasons or []),
    }


def _contact_fields(contact: Contact) -> dict[str, Any]:
    return {
        "contact.id": contact.id,
        "contact.name": contact.name,
        "contact.email": contact.email,
        "contact.tier": contact.tier,
        "contact.segment": contact.segment,
        "contact.churn_risk": bool(contact.churn_risk),
        "contact.locale": contact.locale,
    }


async def _event_fields(session: AsyncSession, event: ListenedEvent) -> dict[str, Any]:
    p = event.payload
    t = event.type
    if t == EventType.MESSAGE_CREATED:
        msg = await session.get(Message, int(p["id"]))
        if msg is None:
            return {}
        return {
            "message.content": msg.content,
            "message.direction": msg.direction,
            "message.kind": msg.kind,
            "message.sender_type": msg.sender_type,
        }
    if t == EventType.CONVERSATION_STATUS_CHANGED:
        return {"conversation.previous_status": p.get("previous_status")}
    if t == EventType.CONVERSATION_PRIORITY_CHANGED:
        return {"conversation.previous_priority": p.get("previous")}
    if t.startswith("sla."):
        return {"sla.metric": p.get("metric"), "sla.subject_type": p.get("subject_type")}
    if t.startswith("ticket."):
        return {
            "ticket.id": p.get("id"),
            "ticket.status": p.get("status"),
            "ticket.previous_status": p.get("previous_status"),
        }
    if t == EventType.CONTACT_TIER_CHANGED:
        return {"contact.previous_segment": p.get("previous")}
    if t == EventType.BOT_HANDED_OFF:
        return {"bot.reason": p.get("reason")}
    if t == EventType.CONVERSATION_TRANSFERRED:
        return {"transfer.reason": p.get("reason")}
    return {}
