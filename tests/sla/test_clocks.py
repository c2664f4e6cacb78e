"""Conversation SLA clocks on real rows (SQLite and PostgreSQL): exact deadlines across a weekend, a
pending pause, replies, resolve and reopen, a priority change; conversations.sla_due_at kept; the warning
and the breach fire once each, at the right time, from the job the clock scheduled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.bus import InProcessBus
from kefu.core.constants import EventType
from kefu.core.eventlog import Event
from kefu.core.events import Actor, commit, emit
from kefu.core.jobs import JobContext
from kefu.core.listeners import Dispatcher, ListenerRegistry
from kefu.settings import Settings
from kefu.sla import conversations as sla
from kefu.sla import service, tasks
from kefu.sla.clocks import clocks_of, remaining_s
from kefu.sla.listeners import EVENTS, conversation_clocks
from kefu.sla.models import SlaClock
from kefu.sla.schemas import CalendarCreate, PolicyCreate
from tests.sla.conftest import SM, NewConversation
from tests.support.factories import uniq

SH = ZoneInfo("Asia/Shanghai")
FRI_1730 = datetime(2026, 12, 4, 17, 30, tzinfo=SH)  # a Friday


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


async def _office_policy(sm: SM, account_id: int, priority: str = "p2", **targets: Any) -> int:
    """A 09:00–18:00 Monday–Friday calendar and a policy of `priority` on it."""
    async with sm() as session:
        week = {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}
        cal = await service.check_create_calendar(
            session, account_id, CalendarCreate.model_validate({"name": "Office", "week": week})
        )
        data = {"first_response_min": 120, "next_response_min": 60, "resolution_min": 1440, **targets}
        policy = PolicyCreate(priority=priority, calendar_id=cal.id, **data)
        await service.check_create_policy(session, account_id, policy)
        return cal.id


Step = Callable[[AsyncSession, Conversation], Awaitable[None]]


async def _step(sm: SM, conv_id: int, step: Step) -> Conversation:
    async with sm() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        await step(session, conv)
        await session.commit()
        return conv


async def _clocks(sm: SM, conv: Conversation) -> dict[str, list[SlaClock]]:
    async with sm() as session:
        out: dict[str, list[SlaClock]] = {}
        for c in await clocks_of(session, conv.account_id, "conversation", conv.id):
            out.setdefault(c.metric, []).append(c)
        return out


async def _due(sm: SM, conv_id: int) -> datetime | None:
    async with sm() as session:
        return (await session.execute(select(Conversation.sla_due_at).where(Conversation.id == conv_id))).scalar()


async def test_first_response_across_the_weekend_pause_reply_resolve_and_reopen(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    sm = sessionmaker
    await _office_policy(sm, account_id)
    conv = await new_conversation(FRI_1730)
    await _step(sm, conv.id, lambda s, c: sla.on_created(s, c, FRI_1730))
    clocks = await _clocks(sm, conv)
    (first,) = clocks["first_response"]
    (resolution,) = clocks["resolution"]
    assert first.due_at == sh(2026, 12, 7, 10, 30)  # 30 min on Friday, 1 h 30 on Monday
    assert first.warn_at == sh(2026, 12, 7, 10, 6)  # 80 % of 2 h = 96 min
    assert resolution.due_at == sh(2026, 12, 9, 14, 30)  # 24 business hours: 0.5 + 9 + 9 + 5.5
    assert await _due(sm, conv.id) == sh(2026, 12, 7, 10, 30)

    # Pending (waiting on the customer) Monday 09:30 → 14:00: 4 h 30 of business time paused.
    await _step(sm, conv.id, lambda s, c: _status(s, c, "pending", "open", sh(2026, 12, 7, 9, 30)))
    assert await _due(sm, conv.id) is None  # nothing is running
    async with sm() as session:
        cal = await service.load_calendar(session, first.calendar_id)
    (paused,) = (await _clocks(sm, conv))["first_response"]
    assert paused.paused_at == sh(2026, 12, 7, 9, 30)
    assert remaining_s(paused, cal, sh(2026, 12, 7, 12, 0)) == 60 * 60  # frozen while paused
    await _step(sm, conv.id, lambda s, c: _status(s, c, "open", "pending", sh(2026, 12, 7, 14, 0)))
    clocks = await _clocks(sm, conv)
    assert clocks["first_response"][0].paused_s == 4 * 3600 + 1800
    assert clocks["first_response"][0].due_at == sh(2026, 12, 7, 15, 0)
    assert clocks["resolution"][0].due_at == sh(2026, 12, 10, 10, 0)
    assert await _due(sm, conv.id) == sh(2026, 12, 7, 15, 0)

    # The agent answers at 14:30: first response met; the customer writes at 16:00: next response (1 h).
    await _step(sm, conv.id, lambda s, c: sla.on_agent_reply(s, c, sh(2026, 12, 7, 14, 30)))
    assert await _due(sm, conv.id) == sh(2026, 12, 10, 10, 0)
    await _step(sm, conv.id, lambda s, c: sla.on_customer_message(s, c, sh(2026, 12, 7, 16, 0)))
    clocks = await _clocks(sm, conv)
    assert clocks["first_response"][0].stopped_at == sh(2026, 12, 7, 14, 30)
    assert remaining_s(clocks["first_response"][0], cal, sh(2026, 12, 9, 0, 0)) == 1800
    assert clocks["next_response"][0].due_at == sh(2026, 12, 7, 17, 0)
    assert await _due(sm, conv.id) == sh(2026, 12, 7, 17, 0)
    # A second customer message does not start another next-response clock.
    await _step(sm, conv.id, lambda s, c: sla.on_customer_message(s, c, sh(2026, 12, 7, 16, 10)))
    assert len((await _clocks(sm, conv))["next_response"]) == 1

    # Resolved Monday 16:30: every clock stops; reopened Tuesday 10:00: a new resolution clock.
    await _step(sm, conv.id, lambda s, c: _status(s, c, "resolved", "open", sh(2026, 12, 7, 16, 30)))
    assert await _due(sm, conv.id) is None
    clocks = await _clocks(sm, conv)
    assert {m: [c.stopped_at for c in cs] for m, cs in clocks.items()} == {
        "first_response": [sh(2026, 12, 7, 14, 30)],
        "next_response": [sh(2026, 12, 7, 16, 30)],
        "resolution": [sh(2026, 12, 7, 16, 30)],
    }
    await _step(sm, conv.id, lambda s, c: _status(s, c, "open", "resolved", sh(2026, 12, 8, 10, 0)))
    clocks = await _clocks(sm, conv)
    assert [c.due_at for c in clocks["resolution"]] == [sh(2026, 12, 10, 10, 0), sh(2026, 12, 10, 16, 0)]
    assert len(clocks["first_response"]) == 1
    assert await _due(sm, conv.id) == sh(2026, 12, 10, 16, 0)


async def _status(session: AsyncSession, conv: Conversation, status: str, previous: str, at: datetime) -> None:
    conv.status = status
    await sla.on_status(session, conv, status, previous, at)


async def test_defaults_tier_policy_and_priority_change(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    sm = sessionmaker
    start = sh(2026, 12, 5, 23, 0)  # Saturday night: the defaults are 24×7
    conv = await new_conversation(start, priority="p3")
    await _step(sm, conv.id, lambda s, c: sla.on_created(s, c, start))
    clocks = await _clocks(sm, conv)
    assert clocks["first_response"][0].due_at == sh(2026, 12, 6, 7, 0)  # P3: 8 h
    assert clocks["resolution"][0].due_at == sh(2026, 12, 8, 23, 0)  # P3: 3 days

    # A VIP policy for P1 wins over the default; the priority change retargets from the start.
    async with sm() as session:
        data = PolicyCreate(priority="p1", tier="vip", first_response_min=10, next_response_min=10, resolution_min=60)
        await service.check_create_policy(session, account_id, data)

    async def to_p1(session: AsyncSession, c: Conversation) -> None:
        c.priority = "p1"
        await sla.on_priority(session, c)

    await _step(sm, conv.id, to_p1)  # the contact is normal: P1 default (30 min, 8 h)
    clocks = await _clocks(sm, conv)
    assert (clocks["first_response"][0].priority, clocks["first_response"][0].due_at) == ("p1", sh(2026, 12, 5, 23, 30))
    assert clocks["resolution"][0].due_at == sh(2026, 12, 6, 7, 0)
    assert await _due(sm, conv.id) == sh(2026, 12, 5, 23, 30)

    vip = await new_conversation(start, priority="p1", tier="vip")
    await _step(sm, vip.id, lambda s, c: sla.on_created(s, c, start))
    clocks = await _clocks(sm, vip)
    assert clocks["first_response"][0].due_at == sh(2026, 12, 5, 23, 10)
    assert clocks["first_response"][0].warn_at == sh(2026, 12, 5, 23, 8)


async def test_a_bot_answered_conversation_waits_for_the_handoff(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    start = sh(2026, 12, 8, 10, 0)
    conv = await new_conversation(start, priority="p1")
    async with sessionmaker() as session:
        row = await session.get(Conversation, conv.id)
        assert row is not None
        row.bot_state = {"active": True}
        await session.commit()
    await _step(sessionmaker, conv.id, lambda s, c: sla.on_created(s, c, start))
    await _step(sessionmaker, conv.id, lambda s, c: sla.on_customer_message(s, c, start))
    assert await _clocks(sessionmaker, conv) == {}
    handoff = sh(2026, 12, 8, 10, 5)
    await _step(sessionmaker, conv.id, lambda s, c: sla.on_waiting_for_person(s, c, handoff))
    assert (await _clocks(sessionmaker, conv))["first_response"][0].due_at == sh(2026, 12, 8, 10, 35)


class _Runner:
    """A job runner that records what was enqueued (the clock's own scheduling)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, float | None, dict[str, Any]]] = []

    async def start(self, ctx: JobContext) -> None: ...

    async def stop(self) -> None: ...

    async def enqueue(self, name: str, *, delay_s: float | None = None, **kwargs: Any) -> str:
        self.jobs.append((name, delay_s, kwargs))
        return str(len(self.jobs))


async def _alerts(sm: SM, account_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with sm() as session:
        q = select(Event.type, Event.payload).where(
            Event.account_id == account_id, Event.type.in_([EventType.SLA_WARNING, EventType.SLA_BREACHED])
        )
        return [(t, p) for t, p in await session.execute(q.order_by(Event.id))]


async def test_warning_and_breach_fire_once_at_their_instants(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    sm = sessionmaker
    start = sh(2026, 12, 8, 10, 0)
    conv = await new_conversation(start, priority="p1")  # P1 default: 30 min, warning at 24 min
    await _step(sm, conv.id, lambda s, c: sla.on_created(s, c, start))
    (first,) = (await _clocks(sm, conv))["first_response"]
    ctx = JobContext(sessionmaker=sm, bus=InProcessBus(), settings=Settings(), runner=_Runner())
    try:
        clock.freeze(sh(2026, 12, 8, 10, 23, 59))
        assert await tasks.check(ctx, clock_id=first.id) == 0
        assert await _alerts(sm, account_id) == []
        clock.freeze(sh(2026, 12, 8, 10, 24))
        assert await tasks.check(ctx, clock_id=first.id) == 1
        assert await tasks.check(ctx, clock_id=first.id) == 0
        await tasks.sweep(ctx)  # (other tests' clocks may fire: the sweep is every account's)
        due = sh(2026, 12, 8, 10, 30).astimezone(clock.now().tzinfo).isoformat().replace("+00:00", "Z")
        expected = {"subject_type": "conversation", "subject_id": conv.id, "metric": "first_response", "priority": "p1"}
        alerts = await _alerts(sm, account_id)
        assert [(t, {k: p[k] for k in expected}) for t, p in alerts] == [("sla.warning", expected)]
        assert datetime.fromisoformat(alerts[0][1]["due_at"]) == sh(2026, 12, 8, 10, 30), due
        clock.freeze(sh(2026, 12, 8, 10, 30))
        await tasks.sweep(ctx)  # the breach (the resolution clock warns at 16:24 only)
        await tasks.sweep(ctx)
        assert [t for t, _ in await _alerts(sm, account_id)] == ["sla.warning", "sla.breached"]
        async with sm() as session:
            row = await session.get(SlaClock, first.id)
            assert row is not None
            assert (row.warned_at, row.breached_at) == (sh(2026, 12, 8, 10, 24), sh(2026, 12, 8, 10, 30))
        # A stopped clock never fires.
        await _step(sm, conv.id, lambda s, c: sla.on_agent_reply(s, c, sh(2026, 12, 8, 10, 40)))
        clock.freeze(sh(2026, 12, 9, 12, 0))
        await tasks.sweep(ctx)
        alerts = [(t, p["metric"]) for t, p in await _alerts(sm, account_id)]
        assert alerts[2:] == [("sla.warning", "resolution"), ("sla.breached", "resolution")]
        assert len(alerts) == 4
    finally:
        clock.freeze(None)


async def test_the_listener_starts_clocks_and_schedules_their_checks(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    """Through the durable listener: conversation.created and an agent's message.created, dispatched with a
    job context whose runner records the checks the clock asked for."""
    sm = sessionmaker
    registry = ListenerRegistry()
    registry.listener(uniq("sla.test."), events=EVENTS, start="latest")(conversation_clocks)
    runner = _Runner()
    ctx = JobContext(sessionmaker=sm, bus=InProcessBus(), settings=Settings(), runner=runner)
    dispatcher = Dispatcher(sm, registry, context=ctx)
    await dispatcher.run_once()
    start = sh(2026, 12, 8, 10, 0)
    conv = await new_conversation(start, priority="p1")
    try:
        clock.freeze(start)
        async with sm() as session:
            row = await session.get(Conversation, conv.id)
            assert row is not None
            payload = {"id": conv.id, "inbox_id": conv.inbox_id, "contact_id": conv.contact_id, "status": "open",
                       "priority": "p1", "assignee_id": None, "team_id": None}  # fmt: skip
            emit(
                session,
                account_id,
                EventType.CONVERSATION_CREATED,
                payload,
                actor=Actor.system(),
                conversation_id=conv.id,
            )
            await commit(session)
        await dispatcher.run_once()
        clocks = await _clocks(sm, conv)
        first, resolution = clocks["first_response"][0], clocks["resolution"][0]
        assert await _due(sm, conv.id) == sh(2026, 12, 8, 10, 30)
        assert sorted((d, kw["clock_id"]) for _, d, kw in runner.jobs) == sorted(
            [
                (24 * 60 + 0.5, first.id),
                (30 * 60 + 0.5, first.id),
                (384 * 60 + 0.5, resolution.id),
                (480 * 60 + 0.5, resolution.id),
            ]
        )
        assert {name for name, _, _ in runner.jobs} == {"sla.check"}
        reply_at = sh(2026, 12, 8, 10, 12)
        async with sm() as session:
            msg = {"id": 1, "conversation_id": conv.id, "direction": "outgoing", "kind": "text", "sender_type": "user",
                   "sender_id": None, "created_at": reply_at.isoformat()}  # fmt: skip
            emit(session, account_id, EventType.MESSAGE_CREATED, msg, actor=Actor.system(), conversation_id=conv.id)
            await commit(session)
        await dispatcher.run_once()
        assert (await _clocks(sm, conv))["first_response"][0].stopped_at == reply_at
        assert await _due(sm, conv.id) == sh(2026, 12, 8, 18, 0)
    finally:
        clock.freeze(None)


async def test_concurrent_checks_fire_each_alert_once(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    """Several job runs at the same instant (two nodes, a check and the sweep): one warning, one breach."""
    sm = sessionmaker
    start = sh(2026, 12, 8, 10, 0)
    conv = await new_conversation(start, priority="p1")
    await _step(sm, conv.id, lambda s, c: sla.on_created(s, c, start))
    (first,) = (await _clocks(sm, conv))["first_response"]
    ctx = JobContext(sessionmaker=sm, bus=InProcessBus(), settings=Settings(), runner=_Runner())
    try:
        clock.freeze(sh(2026, 12, 8, 10, 31))
        fired = await asyncio.gather(*(tasks.check(ctx, clock_id=first.id) for _ in range(6)))
        assert sorted(fired) == [0, 0, 0, 0, 0, 2]
        assert [t for t, _ in await _alerts(sm, account_id)] == ["sla.warning", "sla.breached"]
    finally:
        clock.freeze(None)


async def test_a_contact_becoming_vip_takes_the_vip_policy(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    sm = sessionmaker
    async with sm() as session:
        data = PolicyCreate(priority="p2", tier="vip", first_response_min=15, next_response_min=15, resolution_min=120)
        await service.check_create_policy(session, account_id, data)
    start = sh(2026, 12, 8, 10, 0)
    conv = await new_conversation(start, priority="p2")
    await _step(sm, conv.id, lambda s, c: sla.on_created(s, c, start))
    assert (await _clocks(sm, conv))["first_response"][0].due_at == sh(2026, 12, 8, 12, 0)  # default P2: 2 h
    async with sm() as session:
        contact = await session.get(Contact, conv.contact_id)
        assert contact is not None
        contact.tier = "vip"
        await sla.on_contact_changed(session, account_id, conv.contact_id)
        await session.commit()
    clocks = await _clocks(sm, conv)
    assert clocks["first_response"][0].due_at == sh(2026, 12, 8, 10, 15)
    assert clocks["resolution"][0].due_at == sh(2026, 12, 8, 12, 0)
    assert await _due(sm, conv.id) == sh(2026, 12, 8, 10, 15)


async def test_one_transaction_refreshes_every_touched_conversation_at_commit(
    sessionmaker: SM, account_id: int, new_conversation: NewConversation
) -> None:
    """A listener batch touches conversations in event order; their sla_due_at is written at the commit (in id
    order, as the ingest locks them), not in between."""
    sm = sessionmaker
    start = sh(2026, 12, 8, 10, 0)
    first = await new_conversation(start, priority="p1")
    second = await new_conversation(start, priority="p4")
    async with sm() as session:
        for conv_id in (second.id, first.id):
            conv = await session.get(Conversation, conv_id)
            assert conv is not None
            await sla.on_created(session, conv, start)
        async with session.begin_nested():  # a handler's savepoint: nothing written yet
            pass
        assert (
            await session.execute(select(Conversation.sla_due_at).where(Conversation.id == first.id))
        ).scalar() is None
        await session.commit()
    assert await _due(sm, first.id) == sh(2026, 12, 8, 10, 30)
    assert await _due(sm, second.id) == sh(2026, 12, 9, 10, 0)
