"""Replies that a channel delivers itself: which ones, and handing them to the job runner.

Most channels reach the customer only through their adapter's `send` (an email, a WeChat API call);
the widget needs nothing beyond the `message.created` event its socket forwards. Adapters that deliver
register their channel kind here (`channels.base.register`). A reply or bot answer in an inbox of such
a kind is stored with `delivery_status = pending` in the same transaction as the message — so a reply
is never silently left undelivered — and after the commit the job `DELIVER_JOB` is enqueued for it
(channels/delivery.py: the adapter's `send`, with retries; the result goes on the message).

A channel may also refuse a reply before it is written — WeChat's 48-hour window: its adapter's
`reply_refused` is registered in `REPLY_CHECKS`, and `reply_refusal` asks it (an agent's reply is then a
409 with the reason; the workspace shows the reason on the reply box).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import Inbox
from kefu.conversations.models import Conversation, DeliveryStatus, Message
from kefu.core.constants import Direction, MessageKind
from kefu.core.jobs import JobRunner

DELIVER_JOB = "channels.deliver_message"
DELIVERED_KINDS: set[str] = set()  # channel kinds whose adapter delivers replies (filled by registration)
_DELIVERED_MESSAGES = frozenset({str(MessageKind.TEXT), str(MessageKind.BOT)})
ReplyCheck = Callable[[AsyncSession, Conversation], Awaitable[str | None]]
REPLY_CHECKS: dict[str, ReplyCheck] = {}  # channel kind → its adapter's reply_refused (filled by registration)


async def _kind(session: AsyncSession, inbox_id: int) -> str:
    """An inbox's channel kind, through the session's identity map (one query a request)."""
    inbox = await session.get(Inbox, inbox_id)
    return inbox.channel_type if inbox is not None else ""


async def reply_refusal(session: AsyncSession, conv: Conversation) -> str | None:
    """Why the conversation's channel cannot take a reply now, or None (no query when no channel checks)."""
    if not REPLY_CHECKS:
        return None
    check = REPLY_CHECKS.get(await _kind(session, conv.inbox_id))
    return await check(session, conv) if check is not None else None


async def mark_for_delivery(session: AsyncSession, conv: Conversation, msg: Message) -> None:
    """Mark an outgoing message pending when the channel it goes out on (`msg.inbox_id`, else the
    conversation's inbox) delivers it (no query when none does)."""
    if not DELIVERED_KINDS or msg.direction != Direction.OUTGOING or msg.kind not in _DELIVERED_MESSAGES:
        return
    if await _kind(session, msg.inbox_id or conv.inbox_id) in DELIVERED_KINDS:
        msg.delivery_status = str(DeliveryStatus.PENDING)


async def enqueue_delivery(jobs: JobRunner | None, msg: Message) -> None:
    """After the commit: start delivering a pending message. Without a runner it stays pending."""
    if jobs is not None and msg.delivery_status == DeliveryStatus.PENDING:
        await jobs.enqueue(DELIVER_JOB, message_id=msg.id)
