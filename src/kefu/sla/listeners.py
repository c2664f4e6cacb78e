"""Durable event listeners of kefu.sla (core/listeners.py), imported by kefu.main.register_listeners.

`sla.conversations` reads the conversation events in order and moves the conversation's SLA clocks
(kefu.sla.conversations); `sla.tickets` reads the ticket events and moves a ticket's resolution clock
(kefu.sla.tickets). Times are the events' own (`created_at` of the event or the message), so a late
dispatch computes the same deadlines. Both read the log from the first event: on an existing install the
history is replayed in order, so what is open today gets its clocks (and what was closed ends stopped) — the
conversation handlers read the conversation as it is now, so a resolved one is not timed again.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.core.constants import ActorType, Direction, EventType, MessageKind
from kefu.core.event_types import ConversationChanged, Identified, MessageCreated, TicketChanged
from kefu.core.listeners import ListenedEvent, listener
from kefu.sla import conversations as sla
from kefu.sla import tickets

EVENTS: set[str] = {
    EventType.CONVERSATION_CREATED,
    EventType.CONVERSATION_QUEUED,
    EventType.BOT_HANDED_OFF,
    EventType.MESSAGE_CREATED,
    EventType.CONVERSATION_STATUS_CHANGED,
    EventType.CONVERSATION_PRIORITY_CHANGED,
    EventType.CONVERSATION_UPDATED,
    EventType.CONTACT_TIER_CHANGED,
    EventType.CONTACT_UPDATED,
}


@listener("sla.conversations", events=EVENTS)
async def conversation_clocks(session: AsyncSession, event: ListenedEvent) -> None:
    if event.type in (EventType.CONTACT_TIER_CHANGED, EventType.CONTACT_UPDATED):
        await sla.on_contact_changed(session, event.account_id, event.payload_as(Identified).id)
        return
    if event.conversation_id is None:
        return
    conv = await session.get(Conversation, event.conversation_id)
    if conv is None or conv.account_id != event.account_id:
        return  # deleted (erasure) since
    at = event.created_at
    match event.type:
        case EventType.CONVERSATION_CREATED:
            await sla.on_created(session, conv, at)
        case EventType.CONVERSATION_QUEUED | EventType.BOT_HANDED_OFF:
            await sla.on_waiting_for_person(session, conv, at)
        case EventType.MESSAGE_CREATED:
            await _message(session, conv, event.payload_as(MessageCreated))
        case EventType.CONVERSATION_STATUS_CHANGED:
            data = event.payload_as(ConversationChanged)
            await sla.on_status(session, conv, data.status, data.previous_status, at)
        case EventType.CONVERSATION_PRIORITY_CHANGED | EventType.CONVERSATION_UPDATED:
            await sla.on_priority(session, conv)


async def _message(session: AsyncSession, conv: Conversation, msg: MessageCreated) -> None:
    if msg.direction == Direction.INCOMING:
        await sla.on_customer_message(session, conv, msg.created_at)
    elif msg.sender_type == ActorType.USER and msg.kind != MessageKind.NOTE:
        await sla.on_agent_reply(session, conv, msg.created_at)


@listener("sla.tickets", events={EventType.TICKET_CREATED, EventType.TICKET_STATUS_CHANGED, EventType.TICKET_UPDATED})
async def ticket_clocks(session: AsyncSession, event: ListenedEvent) -> None:
    data = event.payload_as(TicketChanged)
    payload = event.payload
    match event.type:
        case EventType.TICKET_CREATED:
            await tickets.on_ticket_created(session, event.account_id, data.id, payload, event.created_at)
        case EventType.TICKET_STATUS_CHANGED:
            await tickets.on_ticket_status(session, event.account_id, data.id, payload, event.created_at)
        case EventType.TICKET_UPDATED:
            await tickets.on_ticket_updated(session, event.account_id, data.id, payload)
