"""Real rows for the routing tests: agents with skills, teams and capacity; waiting conversations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.models import Team, TeamMember
from kefu.auth.models import User
from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import ConversationStatus, Role
from kefu.routing.models import AgentRouting, AgentSkill, QueueEntry, Skill
from tests.support.factories import uniq

SM = async_sessionmaker[AsyncSession]


async def team(sm: SM, account_id: int, name: str | None = None) -> int:
    async with sm() as session:
        row = Team(account_id=account_id, name=name or uniq("Team "), description="")
        session.add(row)
        await session.commit()
        return row.id


async def skills(sm: SM, account_id: int, names: Iterable[str]) -> dict[str, int]:
    async with sm() as session:
        rows = [Skill(account_id=account_id, name=n, description="") for n in names]
        session.add_all(rows)
        await session.commit()
        return {r.name: r.id for r in rows}


async def agent(
    sm: SM,
    account_id: int,
    *,
    name: str = "Agent",
    presence: str = "online",
    capacity: int = 5,
    levels: dict[int, int] | None = None,
    teams: Iterable[int] = (),
    channel_capacity: dict[str, int] | None = None,
    last_assigned_at: datetime | None = None,
) -> int:
    """An agent (user + routing row); `levels` maps skill id → level."""
    async with sm() as session:
        user = User(
            account_id=account_id, email=f"{uniq('a')}@test.kefu", name=name, password_hash="x", role=Role.AGENT
        )
        session.add(user)
        await session.flush()
        session.add(
            AgentRouting(
                user_id=user.id,
                account_id=account_id,
                presence=presence,
                capacity=capacity,
                channel_capacity=channel_capacity or {},
                sockets=0,
                last_assigned_at=last_assigned_at,
            )
        )
        for skill_id, level in (levels or {}).items():
            session.add(AgentSkill(user_id=user.id, skill_id=skill_id, account_id=account_id, level=level))
        for team_id in teams:
            session.add(TeamMember(team_id=team_id, user_id=user.id, account_id=account_id))
        await session.commit()
        return user.id


async def inbox(
    sm: SM, account_id: int, *, channel: str = "web_widget", team_id: int | None = None, bot: bool = False
) -> int:
    async with sm() as session:
        row = Inbox(
            account_id=account_id,
            name=uniq("Inbox "),
            channel_type=channel,
            public_key=uniq("k"),
            greeting="",
            bot_enabled=bot,
            team_id=team_id,
            config={},
        )
        session.add(row)
        await session.commit()
        return row.id


async def contact(sm: SM, account_id: int, name: str = "Customer") -> int:
    async with sm() as session:
        row = Contact(account_id=account_id, name=name)
        session.add(row)
        await session.commit()
        return row.id


async def waiting(
    sm: SM,
    account_id: int,
    inbox_id: int,
    *,
    contact_id: int | None = None,
    priority: str = "p3",
    waited_s: float = 60,
    skills: Iterable[str] = (),
    team_id: int | None = None,
    assignee_id: int | None = None,
    status: str = ConversationStatus.OPEN,
    sla_due_at: datetime | None = None,
) -> int:
    """A conversation waiting for a person since `waited_s` ago (or, with an assignee, one an agent holds)."""
    cid = contact_id if contact_id is not None else await contact(sm, account_id)
    since = clock.now() - timedelta(seconds=waited_s)
    async with sm() as session:
        conv = Conversation(
            account_id=account_id,
            inbox_id=inbox_id,
            contact_id=cid,
            team_id=team_id,
            status=status,
            priority=priority,
            assignee_id=assignee_id,
            waiting_since=None if assignee_id is not None else since,
            sla_due_at=sla_due_at,
            bot_state={},
        )
        session.add(conv)
        await session.flush()
        if assignee_id is None:
            session.add(
                QueueEntry(
                    conversation_id=conv.id,
                    account_id=account_id,
                    reason="test",
                    required_skills=sorted(skills),
                    queued_at=since,
                )
            )
        await session.commit()
        return conv.id
