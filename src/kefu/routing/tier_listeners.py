"""Customer tiers recomputed on the events that move them (a durable listener, core/listeners.py):
a conversation resolved, the bot handed off, a transfer, the contact updated."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import Contact
from kefu.core.constants import ConversationStatus, EventType
from kefu.core.listeners import ListenedEvent, listener
from kefu.routing.tier_service import do_score_contacts, get_config

EVENTS = {
    EventType.CONVERSATION_STATUS_CHANGED,
    EventType.BOT_HANDED_OFF,
    EventType.CONVERSATION_TRANSFERRED,
    EventType.CONTACT_UPDATED,
}


def _contact_id(event: ListenedEvent) -> int | None:
    if event.type == EventType.CONTACT_UPDATED:
        return int(event.payload["id"])
    if (
        event.type == EventType.CONVERSATION_STATUS_CHANGED
        and event.payload.get("status") != ConversationStatus.RESOLVED
    ):
        return None
    return event.contact_id


@listener("routing.tiers", events={str(e) for e in EVENTS})
async def recompute_tier(session: AsyncSession, event: ListenedEvent) -> None:
    contact_id = _contact_id(event)
    if contact_id is None:
        return
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.account_id != event.account_id:
        return
    await do_score_contacts(session, [contact], await get_config(session, event.account_id))
