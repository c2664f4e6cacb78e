"""Background jobs of conversations: wake snoozed ones, auto-resolve idle ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kefu.conversations.models import Conversation
from kefu.conversations.service import WAKE_JOB, do_change_status_system, do_wake_if_due
from kefu.core import clock
from kefu.core.constants import ConversationStatus
from kefu.core.events import bind_bus
from kefu.core.jobs import JobContext, job, periodic


@job(WAKE_JOB)
async def wake(ctx: JobContext, conversation_id: int) -> bool:
    async with ctx.sessionmaker() as session:
        bind_bus(session, ctx.bus)
        return await do_wake_if_due(session, conversation_id)


@periodic("conversations.wake_due", every_s=30)
async def wake_due(ctx: JobContext) -> int:
    """Catch-up for wake-ups whose job was lost (restart) — the database is the truth."""
    async with ctx.sessionmaker() as session:
        q = (
            select(Conversation.id)
            .where(Conversation.status == ConversationStatus.SNOOZED, Conversation.snoozed_until <= clock.now())
            .limit(500)
        )
        ids = list((await session.execute(q)).scalars())
    woken = 0
    for cid in ids:
        woken += await wake(ctx, cid)
    return woken


@periodic("conversations.auto_resolve", every_s=300)
async def auto_resolve(ctx: JobContext) -> int:
    """Resolve open conversations idle longer than KEFU_AUTO_RESOLVE_IDLE_HOURS (0 = never)."""
    hours = float(getattr(ctx.settings, "auto_resolve_idle_hours", 0) or 0)
    if hours <= 0:
        return 0
    cutoff = clock.now() - timedelta(hours=hours)
    async with ctx.sessionmaker() as session:
        q = (
            select(Conversation.id)
            .where(
                Conversation.status.in_([ConversationStatus.OPEN, ConversationStatus.PENDING]),
                Conversation.last_activity_at < cutoff,
            )
            .limit(500)
        )
        ids = list((await session.execute(q)).scalars())
    for cid in ids:
        async with ctx.sessionmaker() as session:
            bind_bus(session, ctx.bus)
            await do_change_status_system(session, cid, ConversationStatus.RESOLVED, reason="idle")
    return len(ids)
