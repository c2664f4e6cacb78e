"""`kefu bench routing`: concurrent assigners draining a queue on PostgreSQL (docs/routing.md, docs/benchmarks.md).

An account of its own: `agents` agents with skills (levels 1–5) and capacities, `conversations` waiting
conversations with priorities, required skills and returning customers. The same queue is drained twice
through `kefu.routing.assign.assign_waiting` — the server's code — first by one assigner (the baseline),
then by `assigners` concurrent ones, each with its own sessions. For each phase: assignments per second,
decision latency (the batch transaction that decided a conversation, lock to commit; p50/p99 over
conversations), and, read back from the rows: double assignments (a conversation with more than one
conversation.assigned event) and capacity violations (an agent holding more than their capacity).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.models import Account
from kefu.auth.models import User
from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import ConversationStatus, EventType, Role
from kefu.core.db import make_engine, make_sessionmaker
from kefu.core.eventlog import Event
from kefu.routing.assign import AssignReport, assign_waiting
from kefu.routing.models import AgentRouting, AgentSkill, QueueEntry, Skill

SM = async_sessionmaker[AsyncSession]
SKILLS = ["billing", "refunds", "shipping", "technical", "english", "japanese", "enterprise", "wechat_pay"]


@dataclass(frozen=True)
class Setup:
    account_id: int
    conversation_ids: list[int]
    capacity: dict[int, int]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


async def prepare(sm: SM, *, agents: int, conversations: int, seed: int) -> Setup:
    """The account, its agents and the waiting conversations (bulk inserts)."""
    rnd = random.Random(seed)
    now = clock.now()
    async with sm() as session:
        account = Account(name=f"bench routing {now.isoformat()}", locale="en", timezone="UTC", settings={})
        session.add(account)
        await session.flush()
        aid = account.id
        skills = [Skill(account_id=aid, name=name, description="") for name in SKILLS]
        inbox = Inbox(account_id=aid, name="bench", channel_type="web_widget", public_key=f"bench-{aid}", config={})
        session.add_all([*skills, inbox])
        await session.flush()
        users = (
            await session.execute(
                insert(User).returning(User.id),
                [
                    {"account_id": aid, "email": f"bench-{aid}-{k}@bench.kefu", "name": f"agent {k}",
                     "password_hash": "-", "role": Role.AGENT, "is_active": True}
                    for k in range(agents)
                ],
            )
        ).scalars().all()  # fmt: skip
        per_agent = -(-conversations * 6 // 5 // agents)  # 20 % more room in all than the queue needs
        capacity = {uid: per_agent for uid in users}
        await session.execute(
            insert(AgentRouting),
            [
                {"user_id": uid, "account_id": aid, "presence": "online", "capacity": per_agent,
                 "channel_capacity": {}, "sockets": 0}
                for uid in users
            ],
        )  # fmt: skip
        # Every agent holds 3 skills; skill k is held by agents k, k+1, k+2 … so each skill has plenty.
        rows = []
        for n, uid in enumerate(users):
            for j in range(3):
                rows.append(
                    {"user_id": uid, "skill_id": skills[(n + j) % len(skills)].id, "account_id": aid,
                     "level": rnd.randint(1, 5)}
                )  # fmt: skip
        await session.execute(insert(AgentSkill), rows)
        contacts = (
            await session.execute(
                insert(Contact).returning(Contact.id),
                [{"account_id": aid, "name": f"customer {k}"} for k in range(max(1, conversations // 2))],
            )
        ).scalars().all()  # fmt: skip
        convs = []
        for k in range(conversations):
            convs.append(
                {"account_id": aid, "inbox_id": inbox.id, "contact_id": contacts[k % len(contacts)],
                 "status": ConversationStatus.OPEN, "priority": rnd.choice(["p1", "p2", "p3", "p3", "p4"]),
                 "subject": "", "waiting_since": now - timedelta(seconds=rnd.randint(1, 3600)), "bot_state": {},
                 "last_activity_at": now}
            )  # fmt: skip
        ids = (await session.execute(insert(Conversation).returning(Conversation.id), convs)).scalars().all()
        entries = [
            {"conversation_id": cid, "account_id": aid, "reason": "bench", "queued_at": now,
             "required_skills": [rnd.choice(SKILLS)] if rnd.random() < 0.6 else []}
            for cid in ids
        ]  # fmt: skip
        await session.execute(insert(QueueEntry), entries)
        await session.commit()
    return Setup(aid, list(ids), capacity)


async def requeue(sm: SM, setup: Setup) -> None:
    """Put every conversation back in the queue and forget the assignments (for the next phase)."""
    async with sm() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.account_id == setup.account_id)
            .values(assignee_id=None, waiting_since=clock.now() - timedelta(seconds=60))
        )
        await session.execute(
            update(AgentRouting).where(AgentRouting.account_id == setup.account_id).values(last_assigned_at=None)
        )
        await session.execute(delete(Event).where(Event.account_id == setup.account_id))
        await session.commit()


async def drain(sm: SM, setup: Setup, assigners: int, batch: int) -> dict[str, Any]:
    started = time.perf_counter()
    reports: list[AssignReport] = await asyncio.gather(
        *(assign_waiting(sm, setup.account_id, batch=batch) for _ in range(assigners))
    )
    seconds = time.perf_counter() - started
    latencies = sorted(
        s for r in reports for s, n in zip(r.batch_seconds, r.batch_sizes, strict=True) for _ in range(n)
    )
    claimed = [a.conversation_id for r in reports for a in r.assignments]
    checks = await verify(sm, setup)
    return {
        "assigners": assigners,
        "assigned": len(claimed),
        "seconds": round(seconds, 3),
        "assignments_per_s": round(len(claimed) / seconds, 1) if seconds else 0.0,
        "p50_decision_ms": round(_pct(latencies, 0.50) * 1000, 1),
        "p99_decision_ms": round(_pct(latencies, 0.99) * 1000, 1),
        "batches": sum(r.batches for r in reports),
        "claimed_twice": len(claimed) - len(set(claimed)),
        **checks,
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


async def verify(sm: SM, setup: Setup) -> dict[str, int]:
    async with sm() as session:
        per_conv = (
            select(Event.conversation_id, func.count().label("n"))
            .where(Event.account_id == setup.account_id, Event.type == EventType.CONVERSATION_ASSIGNED)
            .group_by(Event.conversation_id)
            .subquery()
        )
        doubles = await session.scalar(select(func.count()).select_from(per_conv).where(per_conv.c.n > 1))
        loads = dict(
            (
                await session.execute(
                    select(Conversation.assignee_id, func.count())
                    .where(Conversation.account_id == setup.account_id, Conversation.assignee_id.is_not(None))
                    .group_by(Conversation.assignee_id)
                )
            ).all()
        )
        waiting = await session.scalar(
            select(func.count()).where(Conversation.account_id == setup.account_id, Conversation.assignee_id.is_(None))
        )
    over = sum(1 for uid, n in loads.items() if uid is not None and n > setup.capacity[uid])
    return {"double_assignments": int(doubles or 0), "capacity_violations": over, "left_waiting": int(waiting or 0)}


async def run(
    database_url: str, *, agents: int, conversations: int, assigners: int, batch: int, seed: int
) -> dict[str, Any]:
    engine = make_engine(database_url, pool_size=assigners + 2)
    sm = make_sessionmaker(engine)
    try:
        _log(f"preparing {agents} agents and {conversations:,} waiting conversations …")
        setup = await prepare(sm, agents=agents, conversations=conversations, seed=seed)
        _log("baseline: one assigner …")
        single = await drain(sm, setup, 1, batch)
        await requeue(sm, setup)
        _log(f"{assigners} concurrent assigners …")
        concurrent = await drain(sm, setup, assigners, batch)
    finally:
        await engine.dispose()
    return {
        "database": database_url.split(":", 1)[0],
        "agents": agents,
        "conversations": conversations,
        "batch": batch,
        "assigners": assigners,
        "assignments_per_s": concurrent["assignments_per_s"],
        "p50_decision_ms": concurrent["p50_decision_ms"],
        "p99_decision_ms": concurrent["p99_decision_ms"],
        "double_assignments": concurrent["double_assignments"] + concurrent["claimed_twice"],
        "capacity_violations": concurrent["capacity_violations"],
        "left_waiting": concurrent["left_waiting"],
        "baseline_single_assignments_per_s": single["assignments_per_s"],
        "baseline_single_p99_decision_ms": single["p99_decision_ms"],
        "baseline_double_assignments": single["double_assignments"] + single["claimed_twice"],
        "baseline_capacity_violations": single["capacity_violations"],
        "phases": [single, concurrent],
    }
