"""Presence: away when the workspace stays disconnected for the grace period (both databases), and the
agent socket counting its connections on the live server."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core import clock
from kefu.core.constants import ActorType, EventType, Role
from kefu.core.eventlog import Event
from kefu.core.events import Actor
from kefu.routing.models import AgentRouting
from kefu.routing.presence import do_away_if_gone
from tests.routing import rows
from tests.support.factories import World, recv_json

SM = async_sessionmaker[AsyncSession]
SYSTEM = Actor(ActorType.SYSTEM)


async def _state(sm: SM, user_id: int, **values: object) -> None:
    async with sm() as session:
        row = await session.get(AgentRouting, user_id)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)
        await session.commit()


async def _presence(sm: SM, user_id: int) -> str:
    async with sm() as session:
        row = await session.get(AgentRouting, user_id)
        assert row is not None
        return row.presence


async def test_away_only_after_the_grace_period_with_no_socket(sessionmaker: SM, account_id: int) -> None:
    agent = await rows.agent(sessionmaker, account_id, presence="online")
    await _state(sessionmaker, agent, sockets=0, disconnected_at=clock.now() - timedelta(seconds=20))
    async with sessionmaker() as session:
        assert await do_away_if_gone(session, agent, SYSTEM, 60) is False  # closed 20 s ago: still in grace
    await _state(sessionmaker, agent, sockets=1, disconnected_at=clock.now() - timedelta(seconds=90))
    async with sessionmaker() as session:
        assert await do_away_if_gone(session, agent, SYSTEM, 60) is False  # another tab is open
    assert await _presence(sessionmaker, agent) == "online"

    await _state(sessionmaker, agent, sockets=0)
    async with sessionmaker() as session:
        assert await do_away_if_gone(session, agent, SYSTEM, 60) is True
    assert await _presence(sessionmaker, agent) == "away"
    async with sessionmaker() as session:
        q = select(Event.payload).where(Event.account_id == account_id, Event.type == EventType.AGENT_PRESENCE_CHANGED)
        assert list((await session.execute(q)).scalars()) == [
            {"user_id": agent, "presence": "away", "previous": "online"}
        ]
    async with sessionmaker() as session:  # already away: nothing more
        assert await do_away_if_gone(session, agent, SYSTEM, 60) is False


async def test_the_agent_socket_counts_connections(api: World) -> None:
    agent = await api.user(Role.AGENT, "Ann")
    r = await agent.client.put("/api/v1/routing/presence", json={"presence": "online"})
    assert r.status_code == 200

    async def sockets() -> tuple[int, object]:
        async with api.server.state.sessionmaker() as session:
            row = await session.get(AgentRouting, agent.id)
            assert row is not None
            return row.sockets, row.disconnected_at

    async with api.agent_ws(agent.token) as ws:
        assert (await recv_json(ws))["type"] == "hello"
        assert (await sockets())[0] == 1
    for _ in range(100):
        count, closed_at = await sockets()
        if count == 0:
            break
        await asyncio.sleep(0.05)
    assert count == 0 and closed_at is not None
    agents = {a["user_id"]: a for a in (await api.http.get("/api/v1/routing/agents")).json()}
    assert agents[agent.id]["presence"] == "online"  # within the grace period (KEFU_PRESENCE_GRACE_S, 60 s)
