"""Helpers for tests against the live server's routing listeners."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from kefu.core.listeners_models import ListenerCursor
from tests.support.factories import World


async def listeners_ready(w: World) -> None:
    """Wait until the routing listeners have their cursors: they start at the newest event when first run,
    so events written before that (at the very start of a test session) are not theirs."""
    for k in range(200):
        async with w.server.state.sessionmaker() as session:
            q = select(ListenerCursor.name).where(ListenerCursor.name.in_(["routing.queue", "routing.nudge"]))
            if len((await session.execute(q)).all()) == 2:
                return
        await w.http.post("/api/v1/teams", json={"name": f"nudge {k}"})  # an event: the dispatcher runs
        await asyncio.sleep(0.1)
    raise AssertionError("the routing listeners never started")
