"""Background jobs of conversations: wake snoozed ones, auto-resolve idle ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import ColumnElement, select

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


BATCH = 500


async def _due(ctx: JobContext, *where: ColumnElement[bool]) -> AsyncIterator[list[int]]:
    """The ids of every conversation matching `where`, in batches (keyset on the id), so one run
    reaches all of them however many accounts the database holds."""
    after = 0
    while True:
        async with ctx.sessionmaker() as session:
            q = select(Conversation.id).where(Conversation.id > after, *where).order_by(Conversation.id).limit(BATCH)
            ids = list((await session.execute(q)).scalars())
        if ids:
            yield ids
        if len(ids) < BATCH:
            return
        after = ids[-1]


@periodic("conversations.wake_due", every_s=30)
async def wake_due(ctx: JobContext) -> int:
    """Catch-up for wake-ups whose job was lost (restart) — the database is the truth."""
    woken = 0
    due = (Conversation.status == ConversationStatus.SNOOZED, Conversation.snoozed_until <= clock.now())
    async for ids in _due(ctx, *due):
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
    resolved = 0
    idle = (
        Conversation.status.in_([ConversationStatus.OPEN, ConversationStatus.PENDING]),
        Conversation.last_activity_at < cutoff,
    )
    async for ids in _due(ctx, *idle):
        for cid in ids:
            async with ctx.sessionmaker() as session:
                bind_bus(session, ctx.bus)
                await do_change_status_system(session, cid, ConversationStatus.RESOLVED, reason="idle")
        resolved += len(ids)
    return resolved
