"""Routing writes and reads: skills, requirements, agents' capacity/skills/presence, settings, queue entry,
transfers. The assigner is in assign.py (docs/routing.md)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account, Team, TeamMember
from kefu.auth.access import get_scoped, restrict
from kefu.auth.models import User
from kefu.channels.models import Inbox
from kefu.conversations.models import Conversation, ConversationLabel
from kefu.conversations.service import MANUAL_PRIORITY, get_conversation, set_assignee
from kefu.core import clock
from kefu.core.constants import ChannelType, ConversationStatus, EventType
from kefu.core.errors import BadRequest, Conflict
from kefu.core.events import Actor, commit, emit
from kefu.routing.config import get_config
from kefu.routing.models import AgentRouting, AgentSkill, QueueEntry, RequirementKind, Skill, SkillRequirement, Transfer
from kefu.routing.policies import Presence
from kefu.routing.priority import assess_priority
from kefu.routing.schemas import (
    AgentRead,
    AgentUpdate,
    RequirementCreate,
    RequirementRead,
    RoutingSettings,
    SkillCreate,
    SkillUpdate,
    TransferCreate,
)

# ---- skills and requirements ----------------------------------------------------------------------


async def list_skills(session: AsyncSession, account_id: int) -> list[Skill]:
    return list((await session.execute(restrict(select(Skill), Skill, account_id).order_by(Skill.name))).scalars())


async def _skill_named(session: AsyncSession, account_id: int, name: str) -> Skill | None:
    q = select(Skill).where(Skill.account_id == account_id, Skill.name == name)
    return (await session.execute(q)).scalar_one_or_none()


async def _skills_by_name(session: AsyncSession, account_id: int, names: set[str]) -> dict[str, Skill]:
    if not names:
        return {}
    q = select(Skill).where(Skill.account_id == account_id, Skill.name.in_(names))
    found = {s.name: s for s in (await session.execute(q)).scalars()}
    unknown = sorted(names - set(found))
    if unknown:
        raise BadRequest(f"unknown skill: {', '.join(unknown)}", details={"unknown_skills": unknown})
    return found


async def check_create_skill(session: AsyncSession, account_id: int, data: SkillCreate) -> Skill:
    if await _skill_named(session, account_id, data.name) is not None:
        raise Conflict(f"a skill named {data.name!r} already exists")
    skill = Skill(account_id=account_id, name=data.name, description=data.description)
    session.add(skill)
    await commit(session)
    return skill


async def check_update_skill(session: AsyncSession, account_id: int, skill_id: int, data: SkillUpdate) -> Skill:
    skill = await get_scoped(session, Skill, skill_id, account_id, "skill")
    if data.name is not None and data.name != skill.name:
        if await _skill_named(session, account_id, data.name) is not None:
            raise Conflict(f"a skill named {data.name!r} already exists")
        skill.name = data.name
    if data.description is not None:
        skill.description = data.description
    await commit(session)
    return skill


async def do_delete_skill(session: AsyncSession, account_id: int, skill_id: int) -> None:
    skill = await get_scoped(session, Skill, skill_id, account_id, "skill")
    await session.execute(delete(AgentSkill).where(AgentSkill.skill_id == skill.id))
    await session.execute(delete(SkillRequirement).where(SkillRequirement.skill_id == skill.id))
    await session.delete(skill)
    await commit(session)


async def list_requirements(session: AsyncSession, account_id: int) -> list[RequirementRead]:
    q = (
        select(SkillRequirement, Skill.name)
        .join(Skill, Skill.id == SkillRequirement.skill_id)
        .where(SkillRequirement.account_id == account_id)
        .order_by(SkillRequirement.kind, SkillRequirement.value, Skill.name)
    )
    return [
        RequirementRead(id=r.id, kind=r.kind, value=r.value, skill=name) for r, name in (await session.execute(q)).all()
    ]


async def check_create_requirement(session: AsyncSession, account_id: int, data: RequirementCreate) -> RequirementRead:
    skill = (await _skills_by_name(session, account_id, {data.skill}))[data.skill]
    if data.kind == RequirementKind.INBOX:
        if not data.value.isdigit():
            raise BadRequest(f"an inbox requirement's value is an inbox id, not {data.value!r}")
        await get_scoped(session, Inbox, int(data.value), account_id, "inbox")
    q = select(SkillRequirement.id).where(
        SkillRequirement.account_id == account_id,
        SkillRequirement.kind == data.kind,
        SkillRequirement.value == data.value,
        SkillRequirement.skill_id == skill.id,
    )
    if (await session.execute(q)).first() is not None:
        raise Conflict(f"{data.kind} {data.value!r} already requires {data.skill!r}")
    req = SkillRequirement(account_id=account_id, kind=data.kind, value=data.value, skill_id=skill.id)
    session.add(req)
    await commit(session)
    return RequirementRead(id=req.id, kind=req.kind, value=req.value, skill=skill.name)


async def do_delete_requirement(session: AsyncSession, account_id: int, req_id: int) -> None:
    req = await get_scoped(session, SkillRequirement, req_id, account_id, "requirement")
    await session.delete(req)
    await commit(session)


async def required_skills(
    session: AsyncSession, account_id: int, inbox_id: int, labels: list[str], intent: str | None
) -> list[str]:
    wanted = [(RequirementKind.INBOX, str(inbox_id))] + [(RequirementKind.LABEL, label) for label in labels]
    if intent:
        wanted.append((RequirementKind.INTENT, intent))
    q = (
        select(SkillRequirement.kind, SkillRequirement.value, Skill.name)
        .join(Skill, Skill.id == SkillRequirement.skill_id)
        .where(SkillRequirement.account_id == account_id)
    )
    wanted_set = set(wanted)
    return sorted({name for kind, value, name in (await session.execute(q)).all() if (kind, value) in wanted_set})


# ---- agents ---------------------------------------------------------------------------------------------


async def _agent_row(session: AsyncSession, account_id: int, user_id: int, *, lock: bool = False) -> AgentRouting:
    q = select(AgentRouting).where(AgentRouting.user_id == user_id)
    if lock:
        q = q.with_for_update()
    row = (await session.execute(q)).scalar_one_or_none()
    if row is None:
        config = await get_config(session, account_id)
        row = AgentRouting(
            user_id=user_id,
            account_id=account_id,
            presence=Presence.AWAY,
            capacity=config.default_capacity,
            channel_capacity={},
            sockets=0,
        )
        session.add(row)
        await session.flush()
    return row


async def check_update_agent(session: AsyncSession, account_id: int, user_id: int, data: AgentUpdate) -> AgentRead:
    await get_scoped(session, User, user_id, account_id, "user")
    unknown = sorted(set(data.channel_capacity or {}) - {str(c) for c in ChannelType})
    if unknown:
        raise BadRequest(f"unknown channel: {', '.join(unknown)}", details={"unknown_channels": unknown})
    skills = await _skills_by_name(session, account_id, set(data.skills or {}))
    row = await _agent_row(session, account_id, user_id, lock=True)
    if data.capacity is not None:
        row.capacity = data.capacity
    if data.channel_capacity is not None:
        row.channel_capacity = dict(data.channel_capacity)
    if data.skills is not None:
        await session.execute(delete(AgentSkill).where(AgentSkill.user_id == user_id))
        for name, level in data.skills.items():
            session.add(AgentSkill(user_id=user_id, skill_id=skills[name].id, account_id=account_id, level=level))
    await commit(session)
    return (await list_agents(session, account_id, user_ids=[user_id]))[0]


async def do_set_presence(
    session: AsyncSession, account_id: int, user_id: int, presence: Presence, actor: Actor
) -> AgentRouting:
    """Set an agent's presence; agent.presence_changed when it changes (the assigner reacts to online)."""
    row = await _agent_row(session, account_id, user_id, lock=True)
    previous = row.presence
    if previous != presence:
        row.presence = str(presence)
        row.presence_changed_at = clock.now()
        emit(
            session,
            account_id,
            EventType.AGENT_PRESENCE_CHANGED,
            {"user_id": user_id, "presence": str(presence), "previous": previous},
            actor=actor,
        )
    await commit(session)
    return row


async def get_presence(session: AsyncSession, user_id: int) -> str:
    """An agent's presence (away until they set one)."""
    q = select(AgentRouting.presence).where(AgentRouting.user_id == user_id)
    return (await session.execute(q)).scalar_one_or_none() or str(Presence.AWAY)


async def list_agents(
    session: AsyncSession, account_id: int, *, user_ids: list[int] | None = None, online_only: bool = False
) -> list[AgentRead]:
    """Active agents with their presence, capacity, load, skills and teams (5 queries, any count)."""
    q = restrict(select(User), User, account_id).where(User.is_active.is_(True)).order_by(User.name, User.id)
    if user_ids is not None:
        q = q.where(User.id.in_(user_ids))
    users = list((await session.execute(q)).scalars())
    ids = [u.id for u in users]
    rows = {
        r.user_id: r
        for r in (await session.execute(select(AgentRouting).where(AgentRouting.user_id.in_(ids)))).scalars()
    }
    loads = dict(
        (
            await session.execute(
                select(Conversation.assignee_id, func.count())
                .where(
                    Conversation.assignee_id.in_(ids),
                    Conversation.status.in_((ConversationStatus.OPEN, ConversationStatus.PENDING)),
                )
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    skills: dict[int, dict[str, int]] = {i: {} for i in ids}
    skill_q = select(AgentSkill.user_id, Skill.name, AgentSkill.level).join(Skill, Skill.id == AgentSkill.skill_id)
    for uid, name, level in (await session.execute(skill_q.where(AgentSkill.user_id.in_(ids)))).all():
        skills[uid][name] = level
    teams: dict[int, list[int]] = {i: [] for i in ids}
    team_q = select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.user_id.in_(ids))
    for uid, team_id in (await session.execute(team_q.order_by(TeamMember.team_id))).all():
        teams[uid].append(team_id)
    config = await get_config(session, account_id)
    out = []
    for u in users:
        row = rows.get(u.id)
        presence = Presence(row.presence) if row is not None else Presence.AWAY
        if online_only and presence != Presence.ONLINE:
            continue
        out.append(
            AgentRead(
                user_id=u.id,
                name=u.name,
                role=u.role,
                presence=presence,
                capacity=row.capacity if row is not None else config.default_capacity,
                channel_capacity={k: int(v) for k, v in (row.channel_capacity if row is not None else {}).items()},
                load=int(loads.get(u.id, 0)),
                skills=skills[u.id],
                team_ids=teams[u.id],
                last_assigned_at=row.last_assigned_at if row is not None else None,
                presence_changed_at=row.presence_changed_at if row is not None else None,
            )
        )
    return out


# ---- settings -------------------------------------------------------------------------------------------


async def check_update_settings(session: AsyncSession, account_id: int, data: RoutingSettings) -> RoutingSettings:
    for team, rule in data.overflow.items():
        if not team.isdigit():
            raise BadRequest(f"overflow keys are team ids, not {team!r}")
        await get_scoped(session, Team, int(team), account_id, "team")
        await get_scoped(session, Team, rule.team_id, account_id, "team")
        if int(team) == rule.team_id:
            raise BadRequest(f"team {team} cannot overflow to itself")
    account = await session.get(Account, account_id)
    assert account is not None
    account.settings = {**(account.settings or {}), "routing": data.model_dump(mode="json")}
    await commit(session)
    return data


async def get_settings(session: AsyncSession, account_id: int) -> RoutingSettings:
    return RoutingSettings.model_validate((await get_config(session, account_id)).to_json())


# ---- the queue ------------------------------------------------------------------------------------------


async def _skills_needed(session: AsyncSession, conv: Conversation, intent: str | None) -> list[str]:
    q = select(ConversationLabel.label).where(ConversationLabel.conversation_id == conv.id)
    labels = list((await session.execute(q)).scalars())
    return await required_skills(session, conv.account_id, conv.inbox_id, labels, intent)


async def _assess(session: AsyncSession, conv: Conversation, actor: Actor) -> None:
    """The priority and its reasons now (routing.priority); conversation.priority_changed when it changes.
    A priority a person or an automation rule set (a "manual" or "rule:<id>" reason) stands: the matrix does
    not override it."""
    previous = conv.priority
    if any(r == MANUAL_PRIORITY or r.startswith("rule:") for r in conv.priority_reasons or []):
        return
    priority, reasons = await assess_priority(session, conv)
    conv.priority, conv.priority_reasons = str(priority), list(reasons)
    if conv.priority != previous:
        emit(
            session,
            conv.account_id,
            EventType.CONVERSATION_PRIORITY_CHANGED,
            {"id": conv.id, "priority": conv.priority, "previous": previous, "reasons": conv.priority_reasons},
            actor=actor,
            conversation_id=conv.id,
            contact_id=conv.contact_id,
        )


async def do_enqueue(session: AsyncSession, conv: Conversation, reason: str, *, intent: str | None = None) -> bool:
    """Start waiting for a person (in the caller's transaction, no commit): waiting_since, the priority
    and its reasons, the skills it needs, conversation.queued. False when it has an agent or is not open,
    or when it already waits — then a handoff's intent (which may arrive after the customer's message
    queued it) still sets what it needs."""
    if conv.assignee_id is not None or conv.status != ConversationStatus.OPEN:
        return False
    entry = await session.get(QueueEntry, conv.id)
    if conv.waiting_since is not None:
        if entry is not None and intent is not None and entry.intent is None:
            entry.reason, entry.intent = reason, intent
            entry.required_skills = await _skills_needed(session, conv, intent)
        return False
    actor = Actor.system()
    await _assess(session, conv, actor)
    if entry is not None and intent is None:
        intent = entry.intent
    skills = await _skills_needed(session, conv, intent)
    now = clock.now()
    if entry is None:
        entry = QueueEntry(conversation_id=conv.id, account_id=conv.account_id)
        session.add(entry)
    entry.reason, entry.intent, entry.required_skills, entry.queued_at = reason, intent, skills, now
    entry.overflow_team_id = entry.overflow_reason = entry.assigned_reason = None
    conv.waiting_since = now
    emit(
        session,
        conv.account_id,
        EventType.CONVERSATION_QUEUED,
        {"id": conv.id, "priority": conv.priority, "team_id": conv.team_id, "reason": reason},
        actor=actor,
        conversation_id=conv.id,
        contact_id=conv.contact_id,
    )
    return True


def leave_queue(conv: Conversation) -> bool:
    if conv.waiting_since is None:
        return False
    conv.waiting_since = None
    return True


# ---- transfers and reassignment --------------------------------------------------------------------------


async def check_transfer(
    session: AsyncSession, account_id: int, conv_id: int, data: TransferCreate, actor: Actor
) -> Transfer:
    """Move a conversation to another agent and/or team, with a reason. To a team only: it waits again, for
    that team. Records the transfer (counted in the transfer rate) and emits conversation.transferred."""
    conv = await get_conversation(session, account_id, conv_id)
    if data.to_user_id is None and data.to_team_id is None:
        raise BadRequest("a transfer needs to_user_id or to_team_id")
    if data.to_team_id is not None:
        await get_scoped(session, Team, data.to_team_id, account_id, "team")
    if data.to_user_id is not None:
        user = await get_scoped(session, User, data.to_user_id, account_id, "user")
        if not user.is_active:
            raise BadRequest(f"user {data.to_user_id} is deactivated and cannot take a transfer")
        if user.id == conv.assignee_id and data.to_team_id in (None, conv.team_id):
            raise BadRequest(f"conversation {conv.id} is already with user {user.id}")
    if conv.status == ConversationStatus.RESOLVED:
        raise Conflict(f"conversation {conv.id} is resolved; reopen it to transfer it")
    transfer = Transfer(
        account_id=account_id,
        conversation_id=conv.id,
        from_user_id=conv.assignee_id,
        to_user_id=data.to_user_id,
        from_team_id=conv.team_id,
        to_team_id=data.to_team_id if data.to_team_id is not None else conv.team_id,
        reason=data.reason,
        actor_type=str(actor.type),
        actor_id=actor.id,
    )
    session.add(transfer)
    if data.to_team_id is not None:
        conv.team_id = data.to_team_id
    set_assignee(session, conv, data.to_user_id, actor)
    conv.waiting_since = None
    if data.to_user_id is None:
        await do_enqueue(session, conv, "transfer")
    emit(
        session,
        account_id,
        EventType.CONVERSATION_TRANSFERRED,
        {
            "id": conv.id,
            "from_assignee_id": transfer.from_user_id,
            "to_assignee_id": transfer.to_user_id,
            "from_team_id": transfer.from_team_id,
            "to_team_id": transfer.to_team_id,
            "reason": transfer.reason,
        },
        actor=actor,
        conversation_id=conv.id,
        contact_id=conv.contact_id,
    )
    await commit(session)
    return transfer


async def list_transfers(session: AsyncSession, account_id: int, conv_id: int) -> list[Transfer]:
    conv = await get_conversation(session, account_id, conv_id)
    q = select(Transfer).where(Transfer.conversation_id == conv.id).order_by(Transfer.id)
    return list((await session.execute(q)).scalars())
