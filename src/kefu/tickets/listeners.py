"""Durable event listeners of kefu.tickets (core/listeners.py), imported by kefu.main.register_listeners.

`tickets.customer_messages` reads `message.created` (customer messages only) and `conversation.created`:
repeat-contact detection and reopening linked tickets (tickets/repeat.py), and the per-day count of new
conversations behind the repeat-contact rate. One listener, so both are handled in log order. It starts at
the newest event when first installed: history is not re-read for repeat contacts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.constants import ActorType, Direction, EventType
from kefu.core.event_types import MessageCreated
from kefu.core.listeners import ListenedEvent, listener, listener_context
from kefu.tickets import repeat


@listener(
    "tickets.customer_messages",
    events={EventType.MESSAGE_CREATED, EventType.CONVERSATION_CREATED},
    start="latest",
)
async def on_event(session: AsyncSession, event: ListenedEvent) -> None:
    if event.type == EventType.CONVERSATION_CREATED:
        await repeat.count(session, event.account_id, event.created_at, conversations=1)
        return
    data = event.payload_as(MessageCreated)
    if data.direction != Direction.INCOMING or data.sender_type != ActorType.CONTACT:
        return
    context = listener_context()
    await repeat.on_customer_message(session, data.id, context.embedder if context is not None else None)
