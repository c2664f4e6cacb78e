"""A ticket's resolution clock from the ticket events alone (the durable listener sla.tickets), on SQLite
and PostgreSQL: started with the ticket's priority, paused while pending / on hold, stopped when solved,
started again on reopen, retargeted when the priority changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kefu.core import clock
from kefu.core.constants import EventType
from kefu.core.events import Actor, commit, emit
from kefu.core.listeners import Dispatcher, ListenerRegistry
from kefu.sla.clocks import clocks_of
from kefu.sla.listeners import ticket_clocks
from tests.sla.conftest import SM
from tests.support.factories import uniq

SH = ZoneInfo("Asia/Shanghai")
TICKET_EVENTS = {EventType.TICKET_CREATED, EventType.TICKET_STATUS_CHANGED, EventType.TICKET_UPDATED}


@pytest.fixture
async def sessionmaker(quiet_database_url: str) -> AsyncIterator[SM]:
    """A database no test server writes to: a live server's own `sla.tickets` listener would clock these
    ticket events a second time."""
    from kefu.core.db import make_engine, make_sessionmaker

    engine = make_engine(quiet_database_url, pool_size=10)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_a_tickets_resolution_clock_follows_its_status(sessionmaker: SM, account_id: int) -> None:
    sm = sessionmaker
    registry = ListenerRegistry()
    registry.listener(uniq("sla.test."), events=TICKET_EVENTS, start="latest")(ticket_clocks)
    dispatcher = Dispatcher(sm, registry)
    await dispatcher.run_once()
    ticket = 4242
    T0 = datetime(2026, 12, 8, 9, 0, tzinfo=SH)

    async def event(type_: EventType, at: datetime, **payload: Any) -> datetime:
        clock.freeze(at)
        async with sm() as session:
            row = emit(session, account_id, type_, {"id": ticket, **payload}, actor=Actor.system())
            await commit(session)
        await dispatcher.run_once()
        return row.created_at

    async def clocks() -> list[tuple[str, str, datetime, datetime | None, datetime | None]]:
        async with sm() as session:
            rows = await clocks_of(session, account_id, "ticket", ticket)
            return [(c.metric, c.priority, c.due_at, c.paused_at, c.stopped_at) for c in rows]

    created = await event(EventType.TICKET_CREATED, T0, status="new", priority="p2")
    assert await clocks() == [("resolution", "p2", created + timedelta(hours=24), None, None)]
    paused = await event(
        EventType.TICKET_STATUS_CHANGED, T0 + timedelta(hours=2), status="on_hold", previous_status="new"
    )
    assert (await clocks())[0][3] == paused
    resumed = await event(
        EventType.TICKET_STATUS_CHANGED, T0 + timedelta(hours=5), status="open", previous_status="on_hold"
    )
    (metric, _, due, paused_at, _) = (await clocks())[0]
    assert (metric, paused_at, due) == ("resolution", None, created + timedelta(hours=24) + (resumed - paused))
    await event(EventType.TICKET_UPDATED, T0 + timedelta(hours=6), status="open", priority="p1")
    (_, priority, due, _, _) = (await clocks())[0]
    assert (priority, due) == ("p1", created + timedelta(hours=8) + (resumed - paused))
    solved = await event(
        EventType.TICKET_STATUS_CHANGED, T0 + timedelta(hours=7), status="solved", previous_status="open"
    )
    assert (await clocks())[0][4] == solved
    reopened = await event(
        EventType.TICKET_STATUS_CHANGED, T0 + timedelta(days=1), status="open", previous_status="solved", priority="p4"
    )
    assert (await clocks())[1] == ("resolution", "p4", reopened + timedelta(days=7), None, None)
    assert (await clocks())[0][2] == datetime(2026, 12, 8, 20, 0, tzinfo=SH)  # 09:00 + 8 h + 3 h on hold
    clock.freeze(None)
