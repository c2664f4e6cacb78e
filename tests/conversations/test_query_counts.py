"""List endpoints run a fixed number of SQL queries, whatever the page size (no N+1)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

from sqlalchemy import event, func, select

from kefu.core.eventlog import Event
from kefu.core.jobs import current_job
from kefu.core.listeners import LISTENERS
from kefu.core.listeners_models import ListenerCursor
from tests.support.factories import World


async def listeners_idle(api: World) -> None:
    """Wait until the app's listeners have handled every event (of any account: earlier tests' too) or
    stopped moving (a retry's backoff, a gap in the ids), so no handler runs during a count."""
    names = [spec.name for spec in LISTENERS]  # the app's (tests/events leave cursors of their own)
    deadline = time.monotonic() + 30
    last: list[int] = []
    still_since = time.monotonic()
    async with api.server.state.sessionmaker() as session:
        while True:
            newest = (await session.execute(select(func.max(Event.id)))).scalar() or 0
            q = select(ListenerCursor.last_event_id).where(ListenerCursor.name.in_(names))
            cursors = sorted(int(c) for c in (await session.execute(q)).scalars())
            await session.rollback()
            if all(c >= newest for c in cursors):
                return
            if cursors != last:
                last, still_since = cursors, time.monotonic()
            elif time.monotonic() - still_since > 1.5:
                return
            assert time.monotonic() < deadline, "the listeners did not settle"
            await asyncio.sleep(0.1)


@contextlib.contextmanager
def count_queries(api: World) -> Iterator[list[str]]:
    engine = api.server.state.engine.sync_engine
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if current_job() is not None:
            return  # a background job's work (SLA sweep, listeners, tiers …), not the request's
        if not statement.startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def _queries_for_list(api: World, n: int) -> list[str]:
    inbox = await api.inbox()
    for i in range(n):
        v = await api.visitor(inbox, name=f"c{i}")
        conv = (await v.say(f"m{i}"))["conversation_id"]
        await api.http.post(f"/api/v1/conversations/{conv}/labels", json={"label": f"l{i}"})
    await listeners_idle(api)
    with count_queries(api) as seen:
        r = await api.http.get("/api/v1/conversations", params={"inbox_id": inbox["id"], "status": "all"})
    assert len(r.json()["items"]) == n
    return seen


async def test_conversation_list_query_count_is_constant(api: World) -> None:
    # auth (token + last-used check) + page + labels + contacts + last messages
    for n in (2, 9):
        seen = await _queries_for_list(api, n)
        assert len(seen) == 5, "\n".join(s[:160] for s in seen)
