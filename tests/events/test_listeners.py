"""Durable event listeners (core/listeners.py) on SQLite and PostgreSQL: in order, at least once, the
handler's writes and the cursor in one transaction, retries with backoff, dead letters, gaps in the ids
of uncommitted transactions, and two dispatchers that never handle one event twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core import clock
from kefu.core.constants import ActorType, EventType
from kefu.core.errors import Conflict, NotFound
from kefu.core.event_types import Identified
from kefu.core.eventlog import Event
from kefu.core.events import Actor, commit, emit
from kefu.core.listeners import Dispatcher, ListenedEvent, ListenerRegistry, backoff_s, safe_upper
from kefu.core.listeners_admin import do_dismiss_dead_letter, do_retry_dead_letter, get_overview
from kefu.core.listeners_models import DeadLetter, DeadLetterStatus, ListenerCursor
from tests.support.factories import uniq

SM = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def _emit(sm: SM, account_id: int, n: int, type_: EventType = EventType.CONTACT_UPDATED) -> list[int]:
    """`n` events of one account, one transaction each; their ids."""
    ids = []
    for k in range(n):
        async with sm() as session:
            event = emit(session, account_id, type_, {"id": k + 1}, actor=Actor(ActorType.SYSTEM))
            await commit(session)
            ids.append(event.id)
    return ids


def _registry(seen: list[tuple[str, int]], *, fail: set[int] | None = None, attempts: int = 3) -> ListenerRegistry:
    """A registry with one listener that records this account's events and fails on the ids in `fail`."""
    registry = ListenerRegistry()
    failing = fail if fail is not None else set()

    @registry.listener(uniq("test."), events={EventType.CONTACT_UPDATED}, max_attempts=attempts, start="latest")
    async def record(session: AsyncSession, event: ListenedEvent) -> None:
        assert isinstance(event.data, Identified)
        # a write of the handler's own: it must commit with the cursor, or vanish with a failure
        emit(session, event.account_id, EventType.TEAM_UPDATED, {"id": event.id}, actor=Actor.system())
        if event.id in failing:
            raise RuntimeError(f"cannot handle {event.id}")
        seen.append((record.__name__, event.id))

    return registry


async def _echoes(sm: SM, account_id: int) -> list[int]:
    """The handler's own writes: the event ids it wrote team.updated events for."""
    async with sm() as session:
        q = select(Event.payload).where(Event.account_id == account_id, Event.type == EventType.TEAM_UPDATED)
        return sorted(p["id"] for p in (await session.execute(q.order_by(Event.id))).scalars())


async def _cursor(sm: SM, registry: ListenerRegistry) -> int:
    (spec,) = list(registry)
    async with sm() as session:
        row = await session.get(ListenerCursor, spec.name)
        assert row is not None
        return row.last_event_id


async def test_a_listener_handles_its_events_in_order_once_and_commits_its_writes(
    sessionmaker: SM, account_id: int
) -> None:
    seen: list[tuple[str, int]] = []
    registry = _registry(seen)
    dispatcher = Dispatcher(sessionmaker, registry)
    await dispatcher.run_once()  # the cursor starts at the newest event: history is not replayed
    ids = await _emit(sessionmaker, account_id, 5)
    await _emit(sessionmaker, account_id, 2, EventType.CONTACT_CREATED)  # not its type: skipped
    assert [item.lag for item in (await _overview(sessionmaker, account_id, registry)).listeners] == [5]

    handled = await dispatcher.run_once()
    assert [eid for _, eid in seen] == ids
    assert list(handled.values()) == [5]
    assert await _echoes(sessionmaker, account_id) == ids
    assert await _cursor(sessionmaker, registry) >= ids[-1]
    assert list((await dispatcher.run_once()).values()) == [0]  # nothing twice
    assert [eid for _, eid in seen] == ids


async def test_a_failing_event_is_retried_with_backoff_then_dead_lettered_and_the_cursor_moves_on(
    sessionmaker: SM, account_id: int
) -> None:
    seen: list[tuple[str, int]] = []
    fail: set[int] = set()
    registry = _registry(seen, fail=fail, attempts=3)
    dispatcher = Dispatcher(sessionmaker, registry, gap_grace_s=0)
    await dispatcher.run_once()
    first, bad, last = await _emit(sessionmaker, account_id, 3)
    fail.add(bad)
    clock.freeze(T0 + timedelta(days=400))  # after the events' creation: no gap waits
    try:
        await dispatcher.run_once()
        assert [eid for _, eid in seen] == [first]  # the listener waits for the failing event: order is kept
        assert await _cursor(sessionmaker, registry) == bad - 1
        letter = await _letter(sessionmaker, bad)
        assert (letter.status, letter.attempts) == (DeadLetterStatus.PENDING, 1)
        assert letter.last_error == f"RuntimeError: cannot handle {bad}"
        assert letter.next_attempt_at == clock.now() + timedelta(seconds=backoff_s(1))

        await dispatcher.run_once()  # still backing off: not tried
        assert (await _letter(sessionmaker, bad)).attempts == 1
        for attempt in (2, 3):
            clock.freeze(clock.now() + timedelta(seconds=backoff_s(attempt - 1)))
            await dispatcher.run_once()
            assert (await _letter(sessionmaker, bad)).attempts == attempt
    finally:
        clock.freeze(None)
    letter = await _letter(sessionmaker, bad)
    assert (letter.status, letter.next_attempt_at) == (DeadLetterStatus.DEAD, None)
    assert [eid for _, eid in seen] == [first, last]  # given up on: the listener went on
    assert await _echoes(sessionmaker, account_id) == [first, last]  # the failures' writes were undone

    overview = await _overview(sessionmaker, account_id, registry)
    assert [(d.id, d.event_id, d.status, d.attempts) for d in overview.dead_letters] == [
        (letter.id, bad, DeadLetterStatus.DEAD, 3)
    ]
    assert [(item.lag, item.last_event_id >= last) for item in overview.listeners] == [(0, True)]

    async with sessionmaker() as session:  # an admin's retry that fails again keeps it dead
        again = await do_retry_dead_letter(session, account_id, letter.id, registry)
    assert (again.status, again.attempts, again.last_error) == ("dead", 4, f"RuntimeError: cannot handle {bad}")
    fail.clear()
    async with sessionmaker() as session:
        done = await do_retry_dead_letter(session, account_id, letter.id, registry)
    assert (done.status, done.attempts) == ("resolved", 5)
    assert [eid for _, eid in seen] == [first, last, bad]
    assert await _echoes(sessionmaker, account_id) == [first, bad, last]
    assert (await _overview(sessionmaker, account_id, registry)).dead_letters == []
    async with sessionmaker() as session:
        with pytest.raises(Conflict):
            await do_dismiss_dead_letter(session, account_id, letter.id)
        with pytest.raises(NotFound):  # another account's dead letter does not exist for this one
            await do_dismiss_dead_letter(session, account_id + 10**9, letter.id)


async def test_dismissing_a_dead_letter_resolves_it_without_handling(sessionmaker: SM, account_id: int) -> None:
    seen: list[tuple[str, int]] = []
    registry = _registry(seen, attempts=1)
    dispatcher = Dispatcher(sessionmaker, registry, gap_grace_s=0)
    await dispatcher.run_once()
    async with sessionmaker() as session:  # a payload that does not fit its type's model
        event = Event(account_id=account_id, type=str(EventType.CONTACT_UPDATED), actor_type="system", payload={})
        session.add(event)
        await session.commit()
    await dispatcher.run_once()
    letter = await _letter(sessionmaker, event.id)
    assert letter.status == DeadLetterStatus.DEAD and letter.last_error.startswith("ValidationError: 1 validation")
    async with sessionmaker() as session:
        out = await do_dismiss_dead_letter(session, account_id, letter.id)
    assert out.status == "resolved" and seen == []


async def _letter(sm: SM, event_id: int) -> DeadLetter:
    async with sm() as session:
        return (await session.execute(select(DeadLetter).where(DeadLetter.event_id == event_id))).scalar_one()


async def _overview(sm: SM, account_id: int, registry: ListenerRegistry):  # type: ignore[no-untyped-def]
    async with sm() as session:
        return await get_overview(session, account_id, registry)


def test_safe_upper_stops_at_a_recent_gap_and_passes_an_old_one() -> None:
    now = T0
    recent, old = now - timedelta(seconds=1), now - timedelta(seconds=60)
    assert safe_upper(10, [(11, recent), (12, recent), (14, recent), (15, recent)], now, 10) == 12
    assert safe_upper(10, [(11, recent), (13, old), (14, recent)], now, 10) == 14
    assert safe_upper(10, [(12, recent)], now, 10) == 10
    assert safe_upper(10, [(12, recent), (20, recent)], now, None) == 20  # SQLite: what is visible is final
    assert safe_upper(10, [], now, 10) == 10


async def test_an_event_committed_after_a_later_one_is_not_skipped(
    backend: dict[str, str | None], sessionmaker: SM, account_id: int
) -> None:
    """PostgreSQL draws ids before commit: event N+1 can be visible while N is still uncommitted."""
    if backend["name"] != "postgres":
        pytest.skip("SQLite writers are serial: ids become visible in order")
    seen: list[tuple[str, int]] = []
    registry = _registry(seen)
    dispatcher = Dispatcher(sessionmaker, registry, gap_grace_s=30)
    await dispatcher.run_once()
    async with sessionmaker() as slow:
        early = emit(slow, account_id, EventType.CONTACT_UPDATED, {"id": 1}, actor=Actor.system())
        await slow.flush()  # id drawn, not committed
        (late,) = await _emit(sessionmaker, account_id, 1)
        assert late > early.id
        await dispatcher.run_once()
        assert seen == []  # the gap is young: wait for it
        await commit(slow)
    await dispatcher.run_once()
    assert [eid for _, eid in seen] == [early.id, late]

    async with sessionmaker() as rolled_back:  # a gap that never fills: passed once it is old
        emit(rolled_back, account_id, EventType.CONTACT_UPDATED, {"id": 2}, actor=Actor.system())
        await rolled_back.flush()
        await rolled_back.rollback()
    (after,) = await _emit(sessionmaker, account_id, 1)
    await dispatcher.run_once()
    assert [eid for _, eid in seen] == [early.id, late]
    clock.freeze(clock.now() + timedelta(seconds=31))
    try:
        await dispatcher.run_once()
    finally:
        clock.freeze(None)
    assert [eid for _, eid in seen] == [early.id, late, after]


async def test_two_dispatchers_handle_each_event_exactly_once(quiet_database_url: str, account_id: int) -> None:
    """Two nodes (two engines, two dispatchers) running while events arrive: each event once."""
    from kefu.core.db import make_engine, make_sessionmaker

    engines = [make_engine(quiet_database_url, pool_size=4) for _ in range(2)]
    makers = [make_sessionmaker(e) for e in engines]
    calls: list[tuple[int, int]] = []
    registry = ListenerRegistry()

    @registry.listener(uniq("test.pair."), events={EventType.CONTACT_UPDATED}, start="latest")
    async def record(session: AsyncSession, event: ListenedEvent) -> None:
        await asyncio.sleep(0)  # let the other dispatcher interleave
        if event.account_id == account_id:
            calls.append((id(session.bind), event.id))

    dispatchers = [Dispatcher(m, registry, gap_grace_s=0.5, batch=7) for m in makers]
    await dispatchers[0].run_once()
    produced: list[int] = []
    done = asyncio.Event()

    async def produce() -> None:
        for _ in range(6):
            produced.extend(await _emit(makers[0], account_id, 10))
        done.set()

    async def consume(d: Dispatcher) -> None:
        while not done.is_set():
            await d.run_once()
            await asyncio.sleep(0.01)

    try:
        await asyncio.gather(produce(), consume(dispatchers[0]), consume(dispatchers[1]))
        await asyncio.sleep(0.6)  # past the gap grace
        for d in dispatchers:
            await d.run_once()
    finally:
        for e in engines:
            await e.dispose()
    counts = Counter(eid for _, eid in calls)
    assert sorted(counts) == sorted(produced)
    assert set(counts.values()) == {1}
    assert [eid for _, eid in calls] == sorted(produced)  # in id order across both nodes


async def test_a_new_listener_reads_from_the_first_event_unless_told_latest(sessionmaker: SM) -> None:
    registry = ListenerRegistry()

    async def noop(session: AsyncSession, event: ListenedEvent) -> None:
        return None

    registry.listener(uniq("test.first."), events={EventType.TEAM_CREATED})(noop)
    registry.listener(uniq("test.latest."), events={EventType.TEAM_CREATED}, start="latest")(noop)
    async with sessionmaker() as session:
        newest = (await session.execute(select(func.max(Event.id)))).scalar() or 0
    dispatcher = Dispatcher(sessionmaker, registry)
    for spec in registry:
        await dispatcher._ensure_cursor(spec)  # what the first run does before reading
    starts = []
    async with sessionmaker() as session:
        for spec in registry:
            row = await session.get(ListenerCursor, spec.name)
            assert row is not None
            starts.append(row.last_event_id)
    assert starts[0] == 0 and starts[1] >= newest


def test_a_listener_needs_events_and_a_unique_name() -> None:
    registry = ListenerRegistry()

    async def noop(session: AsyncSession, event: ListenedEvent) -> None:
        return None

    registry.listener("x", events={EventType.TEAM_CREATED})(noop)
    with pytest.raises(ValueError, match="already registered"):
        registry.listener("x", events={EventType.TEAM_CREATED})(noop)
    with pytest.raises(ValueError):
        registry.listener("y", events=set())


async def test_a_commit_nudges_the_dispatcher_through_the_job_runner(sessionmaker: SM, account_id: int) -> None:
    """The nudge path: commit() publishes on the bus, ListenerWaker enqueues listeners.dispatch, the
    runner runs it — no periodic run involved (the runner's periodic loop is off)."""
    from kefu.core.bus import InProcessBus
    from kefu.core.events import bind_bus
    from kefu.core.jobs import InProcessRunner, JobContext
    from kefu.core.listeners import LISTENERS, ListenerWaker

    handled: asyncio.Queue[int] = asyncio.Queue()
    name = uniq("test.nudge.")

    async def handle(session: AsyncSession, event: ListenedEvent) -> None:
        if event.account_id == account_id:
            handled.put_nowait(event.id)

    LISTENERS.listener(name, events={EventType.CONTACT_UPDATED}, start="latest")(handle)
    bus = InProcessBus()
    runner = InProcessRunner(run_periodic=False)
    await bus.start()
    await runner.start(JobContext(sessionmaker, bus, settings=None))
    waker = ListenerWaker(bus, runner)
    try:
        await waker.start()
        await runner.enqueue("listeners.dispatch")  # places the new listener's cursor
        await asyncio.sleep(0.3)
        async with sessionmaker() as session:
            bind_bus(session, bus)
            event = emit(session, account_id, EventType.CONTACT_UPDATED, {"id": 1}, actor=Actor.system())
            await commit(session)
        assert await asyncio.wait_for(handled.get(), timeout=5) == event.id
    finally:
        LISTENERS.specs.pop(name, None)
        await waker.stop()
        await runner.stop()
        await bus.stop()


async def test_handlers_see_the_dispatchers_job_context(sessionmaker: SM, account_id: int) -> None:
    from kefu.core.bus import InProcessBus
    from kefu.core.jobs import JobContext
    from kefu.core.listeners import listener_context
    from kefu.settings import Settings

    seen: list[object] = []
    registry = ListenerRegistry()

    @registry.listener(uniq("test."), events={EventType.CONTACT_UPDATED}, start="latest")
    async def probe(session: AsyncSession, event: ListenedEvent) -> None:
        if event.account_id == account_id:
            seen.append(listener_context())

    ctx = JobContext(sessionmaker=sessionmaker, bus=InProcessBus(), settings=Settings(), embedder=object())  # type: ignore[arg-type]
    dispatcher = Dispatcher(sessionmaker, registry, context=ctx)
    await dispatcher.run_once()
    await _emit(sessionmaker, account_id, 1)
    await dispatcher.run_once()
    assert seen == [ctx]
    assert listener_context() is None  # reset after the run
