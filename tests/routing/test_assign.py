"""The assigner on real rows, SQLite and PostgreSQL: skills, capacity (overall and per channel), queue
order, stickiness, overflow, presence; and concurrent assigners on PostgreSQL that never give one
conversation to two agents nor an agent more than their capacity."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.models import Account
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import EventType
from kefu.core.eventlog import Event
from kefu.routing.assign import assign_waiting
from kefu.routing.models import QueueEntry
from tests.routing import rows

SM = async_sessionmaker[AsyncSession]


async def _assignees(sm: SM, ids: list[int]) -> dict[int, int | None]:
    async with sm() as session:
        q = select(Conversation.id, Conversation.assignee_id).where(Conversation.id.in_(ids))
        return {cid: aid for cid, aid in (await session.execute(q)).all()}


async def _set_routing(sm: SM, account_id: int, routing: dict[str, object]) -> None:
    async with sm() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        account.settings = {**account.settings, "routing": {"auto_assign": False, **routing}}
        await session.commit()


async def test_skills_decide_and_the_higher_level_wins(sessionmaker: SM, account_id: int) -> None:
    sk = await rows.skills(sessionmaker, account_id, ["billing", "english"])
    novice = await rows.agent(sessionmaker, account_id, name="novice", levels={sk["billing"]: 2})
    expert = await rows.agent(sessionmaker, account_id, name="expert", levels={sk["billing"]: 5})
    linguist = await rows.agent(sessionmaker, account_id, name="linguist", levels={sk["english"]: 4})
    inbox = await rows.inbox(sessionmaker, account_id)
    bill = await rows.waiting(sessionmaker, account_id, inbox, skills=["billing"], waited_s=30)
    eng = await rows.waiting(sessionmaker, account_id, inbox, skills=["english"], waited_s=20)
    both = await rows.waiting(sessionmaker, account_id, inbox, skills=["billing", "english"], waited_s=10)

    report = await assign_waiting(sessionmaker, account_id)

    assert await _assignees(sessionmaker, [bill, eng, both]) == {bill: expert, eng: linguist, both: None}
    assert [(a.conversation_id, a.agent_id, a.reason) for a in report.assignments] == [
        (bill, expert, "skills"),
        (eng, linguist, "skills"),
    ]
    assert novice not in {a.agent_id for a in report.assignments}
    async with sessionmaker() as session:
        conv = await session.get(Conversation, bill)
        entry = await session.get(QueueEntry, bill)
        waiting = await session.get(Conversation, both)
        assert conv is not None and entry is not None and waiting is not None
        assert conv.waiting_since is None
        assert entry.assigned_reason == "skills"
        assert waiting.waiting_since is not None  # nobody has both skills: it keeps waiting
        n = await session.scalar(
            select(func.count()).where(Event.type == EventType.CONVERSATION_ASSIGNED, Event.conversation_id == bill)
        )
        assert n == 1


async def test_capacity_and_queue_order(sessionmaker: SM, account_id: int) -> None:
    inbox = await rows.inbox(sessionmaker, account_id)
    a = await rows.agent(sessionmaker, account_id, capacity=1)
    b = await rows.agent(sessionmaker, account_id, capacity=2)
    held = await rows.waiting(sessionmaker, account_id, inbox, assignee_id=b)  # b holds one already
    p3_old = await rows.waiting(sessionmaker, account_id, inbox, priority="p3", waited_s=500)
    p1_new = await rows.waiting(sessionmaker, account_id, inbox, priority="p1", waited_s=5)
    p2_due_later = await rows.waiting(
        sessionmaker, account_id, inbox, priority="p2", waited_s=50, sla_due_at=clock.now() + timedelta(hours=2)
    )
    p2_due_soon = await rows.waiting(
        sessionmaker, account_id, inbox, priority="p2", waited_s=10, sla_due_at=clock.now() + timedelta(minutes=5)
    )

    report = await assign_waiting(sessionmaker, account_id)

    assert [x.conversation_id for x in report.assignments] == [p1_new, p2_due_soon]
    result = await _assignees(sessionmaker, [held, p1_new, p2_due_soon, p2_due_later, p3_old])
    assert result[held] == b
    assert sorted([result[p1_new], result[p2_due_soon]]) == sorted([a, b])
    assert result[p2_due_later] is None and result[p3_old] is None
    # a second run has no room left: nothing changes
    assert (await assign_waiting(sessionmaker, account_id)).assignments == []


async def test_channel_capacity(sessionmaker: SM, account_id: int) -> None:
    web = await rows.inbox(sessionmaker, account_id, channel="web_widget")
    mail = await rows.inbox(sessionmaker, account_id, channel="email")
    agent = await rows.agent(sessionmaker, account_id, capacity=5, channel_capacity={"email": 1})
    m1 = await rows.waiting(sessionmaker, account_id, mail, waited_s=40)
    m2 = await rows.waiting(sessionmaker, account_id, mail, waited_s=30)
    w1 = await rows.waiting(sessionmaker, account_id, web, waited_s=20)

    await assign_waiting(sessionmaker, account_id)

    assert await _assignees(sessionmaker, [m1, m2, w1]) == {m1: agent, m2: None, w1: agent}


async def test_presence_busy_and_away_take_nothing(sessionmaker: SM, account_id: int) -> None:
    inbox = await rows.inbox(sessionmaker, account_id)
    await rows.agent(sessionmaker, account_id, presence="busy")
    await rows.agent(sessionmaker, account_id, presence="away")
    conv = await rows.waiting(sessionmaker, account_id, inbox)
    assert (await assign_waiting(sessionmaker, account_id)).assignments == []
    assert await _assignees(sessionmaker, [conv]) == {conv: None}


async def test_sticky_to_the_previous_agent(sessionmaker: SM, account_id: int) -> None:
    inbox = await rows.inbox(sessionmaker, account_id)
    sk = await rows.skills(sessionmaker, account_id, ["billing"])
    before = clock.now() - timedelta(hours=1)
    previous = await rows.agent(sessionmaker, account_id, levels={sk["billing"]: 1}, last_assigned_at=clock.now())
    await rows.agent(sessionmaker, account_id, levels={sk["billing"]: 5}, last_assigned_at=before)
    customer = await rows.contact(sessionmaker, account_id)
    await rows.waiting(sessionmaker, account_id, inbox, contact_id=customer, assignee_id=previous, status="resolved")
    conv = await rows.waiting(sessionmaker, account_id, inbox, contact_id=customer, skills=["billing"])

    report = await assign_waiting(sessionmaker, account_id)

    assert [(x.conversation_id, x.agent_id, x.reason) for x in report.assignments] == [(conv, previous, "sticky")]


async def test_sticky_off_gives_the_best_skill(sessionmaker: SM, account_id: int) -> None:
    await _set_routing(sessionmaker, account_id, {"sticky": False})
    inbox = await rows.inbox(sessionmaker, account_id)
    sk = await rows.skills(sessionmaker, account_id, ["billing"])
    previous = await rows.agent(sessionmaker, account_id, levels={sk["billing"]: 1})
    best = await rows.agent(sessionmaker, account_id, levels={sk["billing"]: 5})
    customer = await rows.contact(sessionmaker, account_id)
    await rows.waiting(sessionmaker, account_id, inbox, contact_id=customer, assignee_id=previous, status="resolved")
    conv = await rows.waiting(sessionmaker, account_id, inbox, contact_id=customer, skills=["billing"])

    await assign_waiting(sessionmaker, account_id)

    assert await _assignees(sessionmaker, [conv]) == {conv: best}


async def test_overflow_after_the_threshold(sessionmaker: SM, account_id: int) -> None:
    first = await rows.team(sessionmaker, account_id)
    backup = await rows.team(sessionmaker, account_id)
    await _set_routing(sessionmaker, account_id, {"overflow": {str(first): {"after_s": 120, "team_id": backup}}})
    inbox = await rows.inbox(sessionmaker, account_id, team_id=first)
    await rows.agent(sessionmaker, account_id, teams=[first], presence="away")
    helper = await rows.agent(sessionmaker, account_id, teams=[backup])
    fresh = await rows.waiting(sessionmaker, account_id, inbox, waited_s=30)
    old = await rows.waiting(sessionmaker, account_id, inbox, waited_s=300)

    report = await assign_waiting(sessionmaker, account_id)

    assert [(x.conversation_id, x.agent_id, x.reason) for x in report.assignments] == [(old, helper, "overflow")]
    assert await _assignees(sessionmaker, [fresh, old]) == {fresh: None, old: helper}
    async with sessionmaker() as session:
        entry = await session.get(QueueEntry, old)
        assert entry is not None
        assert (entry.overflow_team_id, entry.assigned_reason) == (backup, "overflow")
        assert entry.overflow_reason == f"waited over 120s for team {first}"
        fresh_entry = await session.get(QueueEntry, fresh)
        assert fresh_entry is not None and fresh_entry.overflow_team_id is None


async def test_unassignable_head_does_not_block_the_rest(sessionmaker: SM, account_id: int) -> None:
    inbox = await rows.inbox(sessionmaker, account_id)
    await rows.skills(sessionmaker, account_id, ["rare"])
    agent = await rows.agent(sessionmaker, account_id, capacity=10)
    stuck = [await rows.waiting(sessionmaker, account_id, inbox, priority="p1", skills=["rare"]) for _ in range(5)]
    later = await rows.waiting(sessionmaker, account_id, inbox, priority="p4")

    await assign_waiting(sessionmaker, account_id, batch=2)

    result = await _assignees(sessionmaker, [*stuck, later])
    assert result == {**dict.fromkeys(stuck), later: agent}


async def test_concurrent_assigners_postgres(sessionmaker: SM, account_id: int, backend: dict[str, str | None]) -> None:
    """8 assigners, each with its own sessions, drain 300 conversations over 20 agents of total capacity 240:
    exactly 240 assigned, none twice, no agent over capacity, and each assignment written once."""
    if backend["name"] != "postgres":
        pytest.skip("concurrent assigners need PostgreSQL (SQLite transactions are serial)")
    inbox = await rows.inbox(sessionmaker, account_id)
    sk = await rows.skills(sessionmaker, account_id, ["a", "b"])
    agents = [
        await rows.agent(sessionmaker, account_id, capacity=12, levels={sk["a" if k % 2 else "b"]: 1 + k % 5})
        for k in range(20)
    ]
    convs = [
        await rows.waiting(
            sessionmaker, account_id, inbox, priority=f"p{1 + k % 4}", skills=["a"] if k % 3 == 0 else [], waited_s=k
        )
        for k in range(300)
    ]

    reports = await asyncio.gather(*(assign_waiting(sessionmaker, account_id, batch=10) for _ in range(8)))

    claimed = Counter(a.conversation_id for r in reports for a in r.assignments)
    assert sum(claimed.values()) == 240
    assert max(claimed.values()) == 1
    result = await _assignees(sessionmaker, convs)
    loads = Counter(aid for aid in result.values() if aid is not None)
    assert sum(loads.values()) == 240
    assert set(loads) == set(agents)
    assert max(loads.values()) == 12
    async with sessionmaker() as session:
        q = (
            select(Event.conversation_id, func.count())
            .where(Event.account_id == account_id, Event.type == EventType.CONVERSATION_ASSIGNED)
            .group_by(Event.conversation_id)
        )
        written = dict((await session.execute(q)).all())
    assert len(written) == 240 and set(written.values()) == {1}
    assert sum(1 for r in reports if r.assignments) >= 2  # the work was really shared
