"""The assigner: gives waiting conversations to agents, in queue order, safely with many nodes and workers.

One transaction per batch (docs/routing.md "The assigner"):

1. lock a batch of waiting conversations in queue order — `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL,
   so concurrent assigners take disjoint batches; SQLite transactions are serial (`BEGIN IMMEDIATE`);
2. lock the routing rows of the account's online agents (`FOR UPDATE`, in user id order: no deadlock), then
   count their open/pending conversations. Every automatic assignment to an agent happens under that
   agent's lock, so the counted load is exact and capacity can never be exceeded;
3. for each conversation in `policies.queue_key` order, `policies.pick_agent` chooses (sticky, skills,
   load); a conversation past its team's overflow threshold may also go to the overflow team;
4. write through conversations.service.set_assignee (conversation.assigned, realtime push), clear
   waiting_since, commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.models import TeamMember
from kefu.auth.models import User
from kefu.channels.models import Inbox
from kefu.conversations.models import Conversation
from kefu.conversations.service import set_assignee
from kefu.core import clock
from kefu.core.constants import ConversationStatus
from kefu.core.events import Actor, commit
from kefu.routing.config import RoutingConfig, get_config
from kefu.routing.models import AgentRouting, AgentSkill, QueueEntry, Skill
from kefu.routing.policies import AgentState, Choice, Presence, QueueItem, overflow_due, pick_agent

BATCH = 50
MAX_EMPTY = 100  # empty batches in a row (conversations held by other assigners) before a run gives up
EMPTY_PAUSE_S = 0.02
LOADED = (ConversationStatus.OPEN, ConversationStatus.PENDING)


@dataclass(frozen=True)
class Assignment:
    conversation_id: int
    agent_id: int
    reason: str  # sticky | skills | overflow


@dataclass
class AssignReport:
    assignments: list[Assignment] = field(default_factory=list)
    batches: int = 0
    batch_seconds: list[float] = field(default_factory=list)  # each batch transaction, lock to commit
    batch_sizes: list[int] = field(default_factory=list)  # assignments made by each batch


Db = AsyncSession | async_sessionmaker[AsyncSession]


async def assign_waiting(
    db: Db, account_id: int, *, batch: int = BATCH, max_batches: int | None = None
) -> AssignReport:
    """Assign what can be assigned now. `db` is a session (batches run in it, one commit each) or a
    sessionmaker (one session per batch)."""
    report = AssignReport()
    run = _Run()
    while max_batches is None or report.batches < max_batches:
        started = time.perf_counter()
        if isinstance(db, AsyncSession):
            done, more = await _one_batch(db, account_id, batch, run)
        else:
            async with db() as session:
                done, more = await _one_batch(session, account_id, batch, run)
        if more is None:  # nothing to lock now, but conversations still wait: another assigner holds them
            run.empty += 1
            if run.empty > MAX_EMPTY:
                break
            await asyncio.sleep(EMPTY_PAUSE_S)
            continue
        run.empty = 0
        report.batches += 1
        report.batch_seconds.append(time.perf_counter() - started)
        report.batch_sizes.append(len(done))
        report.assignments.extend(done)
        if not more:
            break
    return report


@dataclass
class _Run:
    """What one run keeps between its batches: the conversations no agent could take (not offered again in
    this run) and the agents' skills and teams (read once per run; loads are counted in every batch)."""

    skipped: set[int] = field(default_factory=set)
    empty: int = 0  # batches in a row that found nothing to lock while conversations still waited
    skills: dict[int, dict[str, int]] = field(default_factory=dict)
    teams: dict[int, frozenset[int]] = field(default_factory=dict)


class _Pool:
    """The batch's agents, indexed by skill and team, so each conversation is offered to pick_agent with
    only the agents that hold its skills and are in its team (pick_agent checks everything again)."""

    def __init__(self, agents: dict[int, AgentState]) -> None:
        self.agents = agents
        self.by_skill: dict[str, set[int]] = defaultdict(set)
        self.by_team: dict[int, set[int]] = defaultdict(set)
        for a in agents.values():
            for skill in a.skills:
                self.by_skill[skill].add(a.id)
            for team in a.team_ids:
                self.by_team[team].add(a.id)

    def candidates(self, item: QueueItem) -> list[AgentState]:
        sets = [self.by_skill.get(skill, set()) for skill in item.required_skills]
        if item.team_id is not None:
            sets.append(self.by_team.get(item.team_id, set()))
        ids = set.intersection(*sets) if sets else self.agents.keys()
        return [a for i in ids if (a := self.agents[i]).load < a.capacity]

    def loaded(self, agent_id: int, channel: str, now: datetime) -> None:
        self.agents[agent_id] = _loaded(self.agents[agent_id], channel, now)


async def _one_batch(
    session: AsyncSession, account_id: int, batch: int, run: _Run
) -> tuple[list[Assignment], bool | None]:
    """One transaction. Returns the assignments and whether another batch may assign more — None when it
    locked nothing although conversations wait: on PostgreSQL a row another assigner just assigned is
    dropped after the LIMIT (its new version no longer matches), and rows locked by others are skipped."""
    rows = await _lock_waiting(session, account_id, batch, run.skipped)
    if not rows:
        waiting = await _count_waiting(session, account_id, run.skipped)
        await session.commit()
        return [], (None if waiting else False)
    agents = await _lock_agents(session, account_id, run)
    if not any(a.load < a.capacity for a in agents.values()):
        await session.commit()
        return [], False
    config = await get_config(session, account_id)
    entries = await _entries(session, [conv.id for conv, _, _ in rows])
    previous = await _previous_agents(session, rows) if config.sticky else {}
    now = clock.now()
    items = [
        _item(conv, channel, inbox_team, entries.get(conv.id), previous.get(conv.contact_id))
        for conv, channel, inbox_team in rows
    ]
    by_id = {conv.id: conv for conv, _, _ in rows}
    done: list[Assignment] = []
    actor = Actor.system()
    pool = _Pool(agents)
    for item in items:
        choice, overflow_team = _choose(item, pool, config, now)
        entry = entries.get(item.conversation_id)
        if overflow_team is not None and entry is not None and entry.overflow_team_id is None:
            entry.overflow_team_id = overflow_team
            entry.overflow_reason = f"waited over {config.overflow_after(item.team_id)}s for team {item.team_id}"
        if choice.agent_id is None:
            run.skipped.add(item.conversation_id)
            continue
        conv = by_id[item.conversation_id]
        set_assignee(session, conv, choice.agent_id, actor)
        conv.waiting_since = None
        if entry is not None:
            entry.assigned_reason = choice.reason
        pool.loaded(choice.agent_id, item.channel, now)
        done.append(Assignment(conv.id, choice.agent_id, choice.reason))
    await _touch_agents(session, {a.agent_id for a in done}, now)
    await commit(session)
    return done, True


async def _lock_waiting(
    session: AsyncSession, account_id: int, batch: int, skipped: set[int]
) -> list[tuple[Conversation, str, int | None]]:
    q = (
        select(Conversation, Inbox.channel_type, Inbox.team_id)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .where(*_waiting_clause(account_id))
        .order_by(
            Conversation.priority,
            Conversation.sla_due_at.asc().nulls_last(),
            Conversation.waiting_since,
            Conversation.id,
        )
        .limit(batch)
        .with_for_update(skip_locked=True, of=Conversation)
    )
    if skipped:
        q = q.where(Conversation.id.not_in(skipped))
    return [(conv, channel, team) for conv, channel, team in (await session.execute(q)).all()]


async def _count_waiting(session: AsyncSession, account_id: int, skipped: set[int]) -> int:
    q = select(func.count()).where(*_waiting_clause(account_id))
    if skipped:
        q = q.where(Conversation.id.not_in(skipped))
    return int((await session.execute(q)).scalar_one())


def _waiting_clause(account_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        Conversation.account_id == account_id,
        Conversation.waiting_since.is_not(None),
        Conversation.assignee_id.is_(None),
        Conversation.status == ConversationStatus.OPEN,
    )


async def _lock_agents(session: AsyncSession, account_id: int, run: _Run) -> dict[int, AgentState]:
    q = (
        select(AgentRouting)
        .join(User, User.id == AgentRouting.user_id)
        .where(
            AgentRouting.account_id == account_id,
            AgentRouting.presence == Presence.ONLINE,
            User.is_active.is_(True),
        )
        .order_by(AgentRouting.user_id)
        .with_for_update(of=AgentRouting)
    )
    rows = list((await session.execute(q)).scalars())
    if not rows:
        return {}
    ids = [r.user_id for r in rows]
    loads: dict[int, dict[str, int]] = defaultdict(dict)
    load_q = (
        select(Conversation.assignee_id, Inbox.channel_type, func.count())
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .where(Conversation.assignee_id.in_(ids), Conversation.status.in_(LOADED))
        .group_by(Conversation.assignee_id, Inbox.channel_type)
    )
    for user_id, channel, n in (await session.execute(load_q)).all():
        if user_id is not None:
            loads[user_id][channel] = n
    await _read_skills_and_teams(session, [i for i in ids if i not in run.skills], run)
    return {
        r.user_id: AgentState(
            id=r.user_id,
            presence=r.presence,
            capacity=r.capacity,
            load=sum(loads[r.user_id].values()),
            skills=run.skills[r.user_id],
            team_ids=run.teams[r.user_id],
            channel_capacity={str(k): int(v) for k, v in (r.channel_capacity or {}).items()},
            channel_load=loads[r.user_id],
            last_assigned_at=r.last_assigned_at,
        )
        for r in rows
    }


async def _read_skills_and_teams(session: AsyncSession, ids: list[int], run: _Run) -> None:
    if not ids:
        return
    skills: dict[int, dict[str, int]] = {i: {} for i in ids}
    skill_q = (
        select(AgentSkill.user_id, Skill.name, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.user_id.in_(ids))
    )
    for user_id, name, level in (await session.execute(skill_q)).all():
        skills[user_id][name] = level
    teams: dict[int, set[int]] = {i: set() for i in ids}
    team_q = select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.user_id.in_(ids))
    for user_id, team_id in (await session.execute(team_q)).all():
        teams[user_id].add(team_id)
    run.skills.update(skills)
    run.teams.update({i: frozenset(t) for i, t in teams.items()})


async def _entries(session: AsyncSession, ids: list[int]) -> dict[int, QueueEntry]:
    rows = (await session.execute(select(QueueEntry).where(QueueEntry.conversation_id.in_(ids)))).scalars()
    return {e.conversation_id: e for e in rows}


async def _previous_agents(
    session: AsyncSession, rows: Sequence[tuple[Conversation, str, int | None]]
) -> dict[int, int]:
    """The agent of each contact's latest other conversation that had one."""
    contacts = {conv.contact_id for conv, _, _ in rows}
    q = (
        select(Conversation.contact_id, Conversation.assignee_id)
        .where(Conversation.contact_id.in_(contacts), Conversation.assignee_id.is_not(None))
        .order_by(Conversation.id.desc())
    )
    found: dict[int, int] = {}
    for contact_id, assignee_id in (await session.execute(q)).all():
        if assignee_id is not None:
            found.setdefault(contact_id, assignee_id)
    return found


def _item(
    conv: Conversation, channel: str, inbox_team: int | None, entry: QueueEntry | None, previous: int | None
) -> QueueItem:
    assert conv.waiting_since is not None
    return QueueItem(
        conversation_id=conv.id,
        priority=conv.priority,
        waiting_since=conv.waiting_since,
        sla_due_at=conv.sla_due_at,
        team_id=conv.team_id if conv.team_id is not None else inbox_team,
        channel=channel,
        required_skills=frozenset(entry.required_skills if entry is not None else ()),
        previous_agent_id=previous,
    )


def _choose(item: QueueItem, pool: _Pool, config: RoutingConfig, now: datetime) -> tuple[Choice, int | None]:
    """pick_agent's choice; past the team's overflow threshold the overflow team's agents are eligible too.
    Returns the choice and the overflow team when the threshold has passed."""
    choice = pick_agent(item, pool.candidates(item))
    overflow_team = config.overflow_team(item.team_id)
    if overflow_team is None or not overflow_due(item, now, config.overflow_after(item.team_id)):
        return choice, None
    if choice.agent_id is None:
        other = dataclasses.replace(item, team_id=overflow_team)
        alt = pick_agent(other, pool.candidates(other))
        if alt.agent_id is not None:
            return Choice(alt.agent_id, "overflow"), overflow_team
    return choice, overflow_team


def _loaded(agent: AgentState, channel: str, now: datetime) -> AgentState:
    channel_load = {**agent.channel_load, channel: agent.channel_load.get(channel, 0) + 1}
    return dataclasses.replace(agent, load=agent.load + 1, channel_load=channel_load, last_assigned_at=now)


async def _touch_agents(session: AsyncSession, ids: set[int], now: datetime) -> None:
    if ids:
        await session.execute(
            update(AgentRouting).where(AgentRouting.user_id.in_(ids)).values(last_assigned_at=now),
            execution_options={"synchronize_session": False},
        )
