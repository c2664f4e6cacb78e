"""Replies that a channel delivers itself: which ones, and handing them to the job runner.

Most channels reach the customer only through their adapter's `send` (an email, a WeChat API call);
the widget needs nothing beyond the `message.created` event its socket forwards. Adapters that deliver
register their channel kind here (`channels.base.register`). A reply or bot answer in an inbox of such
a kind is stored with `delivery_status = pending` in the same transaction as the message — so a reply
is never silently left undelivered — and after the commit the job `DELIVER_JOB` is enqueued for it
(channels/delivery.py: the adapter's `send`, with retries; the result goes on the message).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import Inbox
from kefu.conversations.models import Conversation, DeliveryStatus, Message
from kefu.core.constants import Direction, MessageKind
from kefu.core.jobs import JobRunner

DELIVER_JOB = "channels.deliver_message"
DELIVERED_KINDS: set[str] = set()  # channel kinds whose adapter delivers replies (filled by registration)
_DELIVERED_MESSAGES = frozenset({str(MessageKind.TEXT), str(MessageKind.BOT)})


async def mark_for_delivery(session: AsyncSession, conv: Conversation, msg: Message) -> None:
    """Mark an outgoing message pending when the channel it goes out on (`msg.inbox_id`, else the
    conversation's inbox) delivers it (no query when none does)."""
    if not DELIVERED_KINDS or msg.direction != Direction.OUTGOING or msg.kind not in _DELIVERED_MESSAGES:
        return
    kind = await session.scalar(select(Inbox.channel_type).where(Inbox.id == (msg.inbox_id or conv.inbox_id)))
    if kind in DELIVERED_KINDS:
        msg.delivery_status = str(DeliveryStatus.PENDING)


async def enqueue_delivery(jobs: JobRunner | None, msg: Message) -> None:
    """After the commit: start delivering a pending message. Without a runner it stays pending."""
    if jobs is not None and msg.delivery_status == DeliveryStatus.PENDING:
        await jobs.enqueue(DELIVER_JOB, message_id=msg.id)
