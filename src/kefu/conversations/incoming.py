"""What a customer's message is, stated once for both ways of storing it.

A customer's message is stored either by the group commit (`ingest_store`, set-based statements for a
whole batch) or by the one-message path (`service.check_receive_contact_message`, the ORM, for what a
batch cannot take). Both take from here:

- the row of a customer's message (`incoming_row`): incoming, kind text, sent by the contact;
- the conversation it belongs to: the latest conversation of its (inbox, contact) pair
  (`latest_conversation_ids`), a new one when there is none (`new_conversation`) — the one-message path
  also applies the account's continuity rule across inboxes (service.py `_current_conversation`, only
  reached when the pair has no open conversation, so the batch path never needs it);
- what it changes on that conversation (`activity`): the last activity and last incoming times;
- what a retry is: a message with the same client_message_id in any conversation of the pair
  (`conversations_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_

from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core.constants import ActorType, ConversationStatus, Direction, MessageKind, Priority

Pair = tuple[int, int]  # (inbox_id, contact_id)

DIRECTION = str(Direction.INCOMING)
KIND = str(MessageKind.TEXT)
SENDER_TYPE = str(ActorType.CONTACT)
ACTIVITY_COLUMNS = ("last_activity_at", "last_incoming_at")


def incoming_row(
    *,
    account_id: int,
    inbox_id: int,
    conversation_id: int,
    contact_id: int,
    content: str,
    attachments: list[dict[str, Any]],
    client_message_id: str | None,
    at: datetime,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of a customer's message; `inbox_id` is the inbox (channel) it came through."""
    return {
        "account_id": account_id,
        "inbox_id": inbox_id,
        "conversation_id": conversation_id,
        "direction": DIRECTION,
        "kind": KIND,
        "sender_type": SENDER_TYPE,
        "sender_id": contact_id,
        "content": content,
        "attachments": attachments,
        "client_message_id": client_message_id,
        "meta": dict(meta or {}),
        "created_at": at,
    }


def activity(at: datetime) -> dict[str, datetime]:
    """What a customer's message changes on its conversation."""
    return dict.fromkeys(ACTIVITY_COLUMNS, at)


def conversations_of(pairs: list[Pair]) -> Select[Any]:
    """Ids of the pairs' conversations, found through the contact_id index: SQLite plans a row-value
    `(inbox_id, contact_id) IN (…)` as a scan (measured: a full scan of messages per batch)."""
    return select(Conversation.id).where(
        Conversation.contact_id.in_({c for _, c in pairs}),
        tuple_(Conversation.inbox_id, Conversation.contact_id).in_(pairs),
    )


def latest_conversation_ids(pairs: list[Pair]) -> Select[Any]:
    """The conversation a pair's next message goes to: its latest (by id)."""
    return (
        select(func.max(Conversation.id))
        .where(Conversation.id.in_(conversations_of(pairs)))
        .group_by(Conversation.inbox_id, Conversation.contact_id)
    )


def new_conversation(inbox: Inbox, contact: Contact) -> Conversation:
    """A contact's first conversation in an inbox: open, in the inbox's team, p1 for a VIP, with the bot
    active when the inbox has it."""
    return Conversation(
        account_id=inbox.account_id,
        inbox_id=inbox.id,
        contact_id=contact.id,
        team_id=inbox.team_id,
        status=ConversationStatus.OPEN,
        priority=str(Priority.P1 if contact.tier == "vip" else Priority.P3),
        bot_state={"active": True} if inbox.bot_enabled else {},
    )
