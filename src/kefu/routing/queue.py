"""Reads of the live queue: waiting conversations in queue order, agents and their load, transfer rate."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import ConversationStatus, EventType, Priority
from kefu.core.eventlog import Event
from kefu.routing.models import QueueEntry, Transfer
from kefu.routing.policies import QueueItem, queue_key
from kefu.routing.schemas import QueueItemRead, QueueRead, TransferRateDay
from kefu.routing.service import list_agents

MAX_WAITING = 500


async def list_waiting(session: AsyncSession, account_id: int, limit: int = MAX_WAITING) -> list[QueueItemRead]:
    q = (
        select(Conversation, Contact.name, Inbox.team_id, QueueEntry)
        .join(Contact, Contact.id == Conversation.contact_id)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .outerjoin(QueueEntry, QueueEntry.conversation_id == Conversation.id)
        .where(
            Conversation.account_id == account_id,
            Conversation.waiting_since.is_not(None),
            Conversation.assignee_id.is_(None),
            Conversation.status == ConversationStatus.OPEN,
        )
        .order_by(Conversation.priority, Conversation.waiting_since, Conversation.id)
        .limit(limit)
    )
    now = clock.now()
    rows = []
    for conv, name, inbox_team, entry in (await session.execute(q)).all():
        assert conv.waiting_since is not None
        team = conv.team_id if conv.team_id is not None else inbox_team
        key = queue_key(QueueItem(conv.id, conv.priority, conv.waiting_since, conv.sla_due_at, team))
        item = QueueItemRead(
            id=conv.id,
            contact_id=conv.contact_id,
            priority=conv.priority,
            priority_reasons=list(conv.priority_reasons or []),
            contact_name=name or "",
            subject=conv.subject,
            team_id=team,
            waiting_since=conv.waiting_since,
            wait_s=max(0, int((now - conv.waiting_since).total_seconds())),
            sla_due_at=conv.sla_due_at,
            required_skills=list(entry.required_skills) if entry is not None else [],
            reason=entry.reason if entry is not None else None,
            overflow_team_id=entry.overflow_team_id if entry is not None else None,
        )
        rows.append((key, item))
    return [item for _, item in sorted(rows, key=lambda r: r[0])]


async def transfer_rate(session: AsyncSession, account_id: int, days: int = 7) -> list[TransferRateDay]:
    """Per UTC day: conversations assigned (to an agent), transfers, and transfers / assigned."""
    today = clock.now().date()
    first = today - timedelta(days=days - 1)
    since = clock.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    assigned: dict[date, set[int]] = {first + timedelta(days=k): set() for k in range(days)}
    q = select(Event.conversation_id, Event.created_at, Event.payload).where(
        Event.account_id == account_id, Event.type == EventType.CONVERSATION_ASSIGNED, Event.created_at >= since
    )
    for conv_id, at, payload in (await session.execute(q)).all():
        if conv_id is not None and (payload or {}).get("assignee_id") is not None and at.date() in assigned:
            assigned[at.date()].add(conv_id)
    tq = select(Transfer.created_at).where(Transfer.account_id == account_id, Transfer.created_at >= since)
    transfers = Counter(at.date() for at in (await session.execute(tq)).scalars())
    return [
        TransferRateDay(
            day=day,
            assigned=len(convs),
            transfers=transfers.get(day, 0),
            rate=round(transfers.get(day, 0) / len(convs), 4) if convs else 0.0,
        )
        for day, convs in sorted(assigned.items())
    ]


async def get_queue(session: AsyncSession, account_id: int) -> QueueRead:
    waiting = await list_waiting(session, account_id)
    by_priority = Counter(item.priority for item in waiting)
    return QueueRead(
        waiting=waiting,
        oldest_wait_s=max((item.wait_s for item in waiting), default=0),
        by_priority={str(p): by_priority.get(str(p), 0) for p in Priority},
        agents=await list_agents(session, account_id),
        transfer_rate=await transfer_rate(session, account_id),
    )
