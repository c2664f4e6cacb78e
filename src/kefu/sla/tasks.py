"""Jobs of kefu.sla: `sla.check` (one clock, enqueued for its warning and due instants) and `sla.sweep`
(every 30 s, the safety net for a lost or early job). Both fire only what is due and not fired yet."""

from __future__ import annotations

from typing import Any

from kefu.core import clock
from kefu.core.events import bind_bus, commit
from kefu.core.jobs import JobContext, job, periodic
from kefu.sla.clocks import CHECK_JOB, do_fire_due

BATCH = 500


MAX_BATCHES = 20  # per run of the sweep (BATCH clocks each); the next run goes on


async def _fire(ctx: JobContext, clock_id: int | None) -> int:
    fired = 0
    for _ in range(MAX_BATCHES):
        async with ctx.sessionmaker() as session:
            bind_bus(session, ctx.bus)
            events, clocks = await do_fire_due(session, now=clock.now(), clock_id=clock_id, limit=BATCH)
            await commit(session)
        fired += events
        if clocks < BATCH or clock_id is not None:
            break
    return fired


@job(CHECK_JOB)
async def check(ctx: JobContext, clock_id: int, **_: Any) -> int:
    return await _fire(ctx, clock_id)


@periodic("sla.sweep", every_s=30)
async def sweep(ctx: JobContext) -> int:
    return await _fire(ctx, None)
