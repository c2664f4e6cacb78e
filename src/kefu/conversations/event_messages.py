"""Stored events in their realtime shape, with each message.created event's message joined back.

The event log references messages (core/event_types.py `MessageCreated`: id and metadata, no text); the
readers that show messages — a socket's replay after a reconnect, GET /api/v1/events — read them through
here so they carry the message as it was published. A message that has been erased leaves the slim
payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Message
from kefu.conversations.schemas import MessageRead
from kefu.core.constants import EventType
from kefu.core.eventlog import Event
from kefu.core.events import event_message


async def event_messages(session: AsyncSession, events: Sequence[Event]) -> list[dict[str, Any]]:
    """`event_message` of each event, messages joined in one query."""
    ids = {e.payload.get("id") for e in events if e.type == EventType.MESSAGE_CREATED}
    ids.discard(None)
    found: dict[int, Message] = {}
    if ids:
        rows = await session.execute(select(Message).where(Message.id.in_(ids)))
        found = {m.id: m for m in rows.scalars()}
    out = []
    for event in events:
        message = found.get(event.payload.get("id", 0)) if event.type == EventType.MESSAGE_CREATED else None
        full = None if message is None else MessageRead.model_validate(message).model_dump(mode="json")
        out.append(event_message(event, full))
    return out
