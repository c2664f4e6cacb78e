"""Typing indicators: ephemeral, published on the bus, never stored."""

from __future__ import annotations

from typing import Any

from kefu.conversations.models import Conversation
from kefu.core.bus import EventBus
from kefu.core.constants import Ephemeral
from kefu.core.events import publish_event


async def publish_typing(bus: EventBus, conv: Conversation, *, sender: dict[str, Any], typing: bool) -> None:
    await publish_event(
        bus,
        {
            "id": None,
            "type": str(Ephemeral.TYPING),
            "account_id": conv.account_id,
            "conversation_id": conv.id,
            "contact_id": conv.contact_id,
            "actor": {"type": sender["type"], "id": sender.get("id")},
            "payload": {"typing": typing, "name": sender.get("name", "")},
        },
    )
