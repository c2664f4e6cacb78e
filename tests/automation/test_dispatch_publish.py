"""The listeners' dispatcher publishes what its handlers emitted after its commit — and nothing of a
handler that failed (its savepoint rolled back): rules' effects reach the sockets live (both databases)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.bus import InProcessBus
from kefu.core.constants import EventType
from kefu.core.events import Actor, account_topic, emit
from kefu.core.jobs import JobContext
from kefu.core.listeners import Dispatcher, ListenedEvent, ListenerRegistry
from kefu.settings import Settings
from tests.support.factories import uniq


async def test_handler_events_are_published_after_the_commit_and_failed_ones_never(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: int
) -> None:
    registry = ListenerRegistry()

    @registry.listener(uniq("test.publish."), events={EventType.CONTACT_UPDATED}, max_attempts=1, start="latest")
    async def echo(session: AsyncSession, event: ListenedEvent) -> None:
        emit(session, event.account_id, EventType.TEAM_UPDATED, {"id": event.payload["id"]}, actor=Actor.system())
        if event.payload["id"] == 2:
            raise RuntimeError("cannot")

    bus = InProcessBus()
    await bus.start()
    ctx = JobContext(sessionmaker, bus, Settings(database_url="sqlite+aiosqlite:///./var/never-opened.db"))
    dispatcher = Dispatcher(sessionmaker, registry, context=ctx)
    await dispatcher.run_once()
    sub = await bus.subscribe(account_topic(account_id))
    for n in (1, 2, 3):
        async with sessionmaker() as session:
            emit(session, account_id, EventType.CONTACT_UPDATED, {"id": n}, actor=Actor.system())
            await session.commit()  # not events.commit: nothing published by the writer
    await dispatcher.run_once()
    got = []
    while (msg := await sub.get(timeout=0.5)) is not None:
        got.append((msg["type"], msg["payload"]["id"]))
    await sub.close()
    await bus.stop()
    assert got == [("team.updated", 1), ("team.updated", 3)]
