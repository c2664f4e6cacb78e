"""The periodic recompute of customer tiers (routing/tier_service.py): every contact of every active
account, in batches. Events recompute single contacts in between (routing/tier_listeners.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.events import bind_bus
from kefu.core.jobs import JobContext, periodic
from kefu.routing.tier_service import do_recompute_account

EVERY_S = 3600
ACTIVE_DAYS = 30  # an account is active when one of its conversations moved within this many days


@periodic("routing.tiers_recompute", every_s=EVERY_S)
async def tiers_recompute(ctx: JobContext) -> dict[str, int]:
    """Idle customers drift into at-risk without any event: the hourly run catches that."""
    since = clock.now() - timedelta(days=ACTIVE_DAYS)
    async with ctx.sessionmaker() as session:
        q = select(Conversation.account_id).where(Conversation.last_activity_at >= since).distinct()
        accounts = sorted(int(a) for a in (await session.execute(q)).scalars())
    scored = changed = 0
    for account_id in accounts:
        async with ctx.sessionmaker() as session:
            bind_bus(session, ctx.bus)
            n, c = await do_recompute_account(session, account_id)
        scored += n
        changed += c
    return {"accounts": len(accounts), "contacts": scored, "changed": changed}
