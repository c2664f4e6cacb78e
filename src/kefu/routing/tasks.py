"""Routing jobs: the assigner for one account (`routing.assign`, nudged by routing.nudge) and the periodic
pass over every account with waiting conversations (`routing.assign_due`: overflow thresholds, lost nudges);
`routing.presence_grace` sets an agent away when their workspace stayed disconnected for the grace period."""

from __future__ import annotations

from sqlalchemy import select

from kefu.conversations.models import Conversation
from kefu.core.constants import ActorType
from kefu.core.events import Actor, bind_bus
from kefu.core.jobs import JobContext, job, periodic
from kefu.routing.assign import assign_waiting
from kefu.routing.config import get_config
from kefu.routing.listeners import ASSIGN_JOB
from kefu.routing.presence import do_away_if_gone


@job(ASSIGN_JOB)
async def assign(ctx: JobContext, account_id: int, force: bool = False) -> int:
    """The assigner for one account; skipped when the account turned automatic assignment off, unless
    `force` (a supervisor's "Assign now")."""
    async with ctx.sessionmaker() as session:
        bind_bus(session, ctx.bus)
        if not force and not (await get_config(session, account_id)).auto_assign:
            await session.commit()
            return 0
        report = await assign_waiting(session, account_id)
    return len(report.assignments)


@periodic("routing.assign_due", every_s=15)
async def assign_due(ctx: JobContext) -> int:
    async with ctx.sessionmaker() as session:
        q = select(Conversation.account_id).where(Conversation.waiting_since.is_not(None)).distinct()
        accounts = list((await session.execute(q)).scalars())
        await session.commit()
    total = 0
    for account_id in accounts:
        total += await assign(ctx, account_id)
    return total


@job("routing.presence_grace")
async def presence_grace(ctx: JobContext, user_id: int) -> bool:
    async with ctx.sessionmaker() as session:
        bind_bus(session, ctx.bus)
        return await do_away_if_gone(session, user_id, Actor(ActorType.SYSTEM), ctx.settings.presence_grace_s)
