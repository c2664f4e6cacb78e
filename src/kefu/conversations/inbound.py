"""Receiving customers' messages: the one action every channel calls.

A channel's adapter verifies and parses what arrived into `InboundMessage`s (channels/base.py) and calls
`receive_customer_messages(state, messages)` — a list, since a webhook may carry several (Zulip's
`do_send_messages`); `receive_customer_message` is the one-message convenience. For each message, in
this order:

1. its size and attachments are checked (every message before any is stored: a refused message stores
   nothing of its request); an attachment must be an upload of the same contact;
2. the `customer_message_arriving` hint (core/hooks.py) — the bot may start work that is safe to waste;
3. it is stored by the group commit (`ingest.MessageIngest`, ADR 0003), exactly once per
   client_message_id: its conversation is continued, reopened or created by the rules in
   `conversations.incoming`, and its `message.created` event is published after the commit;
4. the `customer_message` hooks run for each newly stored message (the bot answers there) — except for
   a message a machine sent (`meta[AUTOMATED]`: an auto-reply, a bounce, a mail loop), which is stored
   for the agents and never answered.

A retry (the same client_message_id again) is answered with the stored message and `created=False`;
no hook runs for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from kefu.attachments.service import resolve_references
from kefu.conversations.ingest import Received, get_ingest
from kefu.conversations.schemas import InboundMessage
from kefu.conversations.service import check_size
from kefu.core import metrics
from kefu.core.constants import ActorType
from kefu.core.events import Actor
from kefu.core.state import AppState

AUTOMATED = "automated"  # meta key a channel sets on a message a machine sent: never answered


async def receive_customer_messages(state: AppState, messages: Sequence[InboundMessage]) -> list[Received]:
    """Store customers' messages and run what follows them; one `Received` per message, in order."""
    if not messages:
        return []
    limit = state.settings.max_message_chars
    for m in messages:
        check_size(m.data.content, limit)
    ready = [await _with_attachments(state, m) if m.data.attachments else m for m in messages]
    for m in ready:
        state.hooks.arriving(m.inbox.id, m.contact_id, m.data.content)
    got = await get_ingest(state).receive_many(ready, max_chars=limit)
    for m, r in zip(ready, got, strict=True):
        if r.created:
            metrics.message_received(m.inbox.channel_type)
        if r.created and not m.meta.get(AUTOMATED):
            await state.hooks.dispatch_customer_message(state, r.conversation_id, r.message.id)
    return got


async def receive_customer_message(state: AppState, message: InboundMessage) -> Received:
    return (await receive_customer_messages(state, [message]))[0]


async def _with_attachments(state: AppState, m: InboundMessage) -> InboundMessage:
    """The message with its attachments as stored: uploads of its contact, named by id."""
    async with state.sessionmaker() as session:
        refs = await resolve_references(
            session,
            m.inbox.account_id,
            m.data.attachments,
            state.settings.secret_key,
            sender=Actor(ActorType.CONTACT, m.contact_id),
        )
    return replace(m, data=m.data.model_copy(update={"attachments": refs}))
