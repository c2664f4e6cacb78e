"""Delivering replies through channel adapters: the job `channels.deliver_message`.

A reply in an inbox whose adapter delivers (`ChannelAdapter.delivers`) is stored with
`delivery_status = pending` and this job is enqueued after the commit (conversations/outbound.py). The
job reads the message, calls the adapter's `send` outside any transaction (a slow channel holds no
database connection) and records the result on the message:

- sent → `sent`;
- a failure worth retrying (`DeliveryResult.retry_later`, or any exception from `send`) → it stays
  `pending`, the error and the attempt count are recorded, and the job enqueues itself again after the
  next of `RETRY_DELAYS_S` — through the job runner, so this works the same with the in-process runner and
  with arq workers; after the last delay it is `failed`;
- a permanent failure (`DeliveryResult.failed`, an inbox config its adapter refuses, an unknown channel,
  a reply the channel refuses before it is sent — `ChannelAdapter.reply_refused`, e.g. WeChat's 48-hour
  window) → `failed` with the error, shown on the message in the workspace and in the API.

A message that is no longer pending (sent, failed, or deleted) is left alone, so a duplicate job is
harmless.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from sqlalchemy import select, update

from kefu.accounts.service import get_outbound_policy
from kefu.channels.base import ADAPTERS, DeliveryResult, OutboundMessage, get_adapter
from kefu.channels.models import Inbox
from kefu.contacts.models import ContactIdentity
from kefu.conversations.models import Conversation, DeliveryStatus, Message
from kefu.conversations.outbound import DELIVER_JOB, reply_refusal
from kefu.core.errors import NotFound
from kefu.core.jobs import JobContext, job

log = logging.getLogger("kefu.delivery")
RETRY_DELAYS_S: tuple[float, ...] = (5, 30, 120, 600, 1800)  # then failed: 6 attempts over ~43 min
MAX_ERROR_CHARS = 500


@job(DELIVER_JOB)
async def deliver_message(ctx: JobContext, message_id: int) -> str | None:
    """Send one pending message through its inbox's adapter; returns the status it was left in."""
    loaded = await _load(ctx, message_id)
    if loaded is None:
        return None
    outbound, kind, raw_config, attempts, refused = loaded
    result = DeliveryResult.failed(refused) if refused else await _send(kind, raw_config, outbound)
    attempts += 1
    retry_in = RETRY_DELAYS_S[attempts - 1] if result.retry and attempts <= len(RETRY_DELAYS_S) else None
    status = DeliveryStatus.PENDING if retry_in is not None else result.status
    async with ctx.sessionmaker() as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id, Message.delivery_status == DeliveryStatus.PENDING)
            .values(
                delivery_status=str(status),
                delivery_error=(result.error or "")[:MAX_ERROR_CHARS] or None,
                delivery_attempts=attempts,
            )
        )
        await session.commit()
    if retry_in is not None:
        assert ctx.runner is not None, "a delivery job runs under a job runner"
        await ctx.runner.enqueue(DELIVER_JOB, delay_s=retry_in, message_id=message_id)
    elif status == DeliveryStatus.FAILED:
        log.warning("message %s was not delivered: %s", message_id, result.error)
    return str(status)


async def _load(
    ctx: JobContext, message_id: int
) -> tuple[OutboundMessage, str, dict[str, object], int, str | None] | None:
    async with ctx.sessionmaker() as session:
        msg = await session.get(Message, message_id)
        if msg is None or msg.delivery_status != DeliveryStatus.PENDING:
            return None
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        inbox = await session.get(Inbox, msg.inbox_id or conv.inbox_id)  # the channel the reply goes out on
        assert inbox is not None
        rows = await session.execute(
            select(ContactIdentity.kind, ContactIdentity.value).where(ContactIdentity.contact_id == conv.contact_id)
        )
        outbound = OutboundMessage(
            message_id=msg.id,
            account_id=msg.account_id,
            inbox_id=inbox.id,
            conversation_id=conv.id,
            contact_id=conv.contact_id,
            content=msg.content,
            attachments=list(msg.attachments),
            identities={kind: value for kind, value in rows.all()},
            sessionmaker=ctx.sessionmaker,
            policy=await get_outbound_policy(session, msg.account_id),
        )
        adapter = ADAPTERS.get(inbox.channel_type)
        if adapter is not None:
            outbound = await adapter.prepare(session, ctx.settings, outbound)
        refused = await reply_refusal(session, conv)
        return outbound, inbox.channel_type, dict(inbox.config or {}), msg.delivery_attempts, refused


async def _send(kind: str, raw_config: dict[str, object], outbound: OutboundMessage) -> DeliveryResult:
    try:
        adapter = get_adapter(kind)
        config = adapter.parse_config(raw_config)
    except NotFound:
        return DeliveryResult.failed(f"no adapter delivers {kind!r} messages")
    except ValidationError as exc:
        return DeliveryResult.failed(f"the inbox's {kind} settings are invalid: {exc.errors()[0]['msg']}")
    try:
        return await adapter.send(outbound, config)
    except Exception as exc:  # a channel's outage is retried, never fatal to the worker
        log.warning("delivering message %s through %s failed", outbound.message_id, kind, exc_info=True)
        return DeliveryResult.retry_later(f"{type(exc).__name__}: {exc}")
