"""A customer's message and the tickets: reopen on a reply, repeat-contact detection, the per-day rate.

Called by the durable listener (tickets/listeners.py) with the dispatcher's session: everything here
writes in that transaction and never commits (the dispatcher commits with its cursor).

- A customer's message in a conversation linked to a ticket moves a pending or solved ticket to open
  (tickets/states.py `status_after_reply`).
- The first customer message of a conversation is compared with the same contact's active tickets and the
  ones solved within the account's window (default 7 days): by the bundled embeddings
  (tickets/similarity.py). A match links the conversation to that ticket (`repeat_contact`), records a
  repeat contact, and leaves a private note in the conversation — instead of a new case.
- `ticket_daily_stats` counts, per day in the account's time zone, new conversations and repeat contacts;
  the rate is repeat contacts / new conversations."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import MessageRead
from kefu.core import clock
from kefu.core.constants import ActorType, Direction, EventType, MessageKind
from kefu.core.events import Actor, emit
from kefu.nlp.embed import Embedder
from kefu.tickets import service
from kefu.tickets.models import RepeatContact, Ticket, TicketActivity, TicketConversation, TicketDailyStat
from kefu.tickets.schemas import DayRate, LinkReason, RepeatStats
from kefu.tickets.setup import settings_of
from kefu.tickets.similarity import Match, best_match
from kefu.tickets.states import ACTIVE, TicketStatus, status_after_reply

log = logging.getLogger(__name__)
MAX_CANDIDATES = 20
MAX_TEXT = 1000  # characters of each text that are embedded


# ---- the per-day counts --------------------------------------------------------------------------------


def local_day(account: Account, at: datetime) -> date:
    try:
        zone = ZoneInfo(account.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    return at.astimezone(zone).date()


async def count(
    session: AsyncSession, account_id: int, at: datetime, *, conversations: int = 0, repeats: int = 0
) -> None:
    """Add to the account's counts of the day `at` falls on (the listener runs one batch at a time, so a
    read-then-write is safe here)."""
    account = await session.get(Account, account_id)
    if account is None:
        return
    day = local_day(account, at)
    row = await session.get(TicketDailyStat, (account_id, day))
    if row is None:
        row = TicketDailyStat(account_id=account_id, day=day, conversations=0, repeat_contacts=0)
        session.add(row)
    row.conversations += conversations
    row.repeat_contacts += repeats


def _rate(repeats: int, conversations: int) -> float | None:
    return round(repeats / conversations, 4) if conversations else None


async def get_repeat_stats(session: AsyncSession, account_id: int, days: int) -> RepeatStats:
    """The last `days` days (today in the account's time zone included), oldest first, zeros filled in."""
    account = await session.get(Account, account_id)
    today = local_day(account, clock.now()) if account is not None else clock.now().date()
    first = today - timedelta(days=days - 1)
    q = select(TicketDailyStat).where(TicketDailyStat.account_id == account_id, TicketDailyStat.day >= first)
    stored = {row.day: row for row in (await session.execute(q)).scalars()}
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        row = stored.get(day)
        convs, repeats = (row.conversations, row.repeat_contacts) if row else (0, 0)
        out.append(DayRate(day=day, conversations=convs, repeat_contacts=repeats, rate=_rate(repeats, convs)))
    total_c = sum(d.conversations for d in out)
    total_r = sum(d.repeat_contacts for d in out)
    return RepeatStats(days=out, conversations=total_c, repeat_contacts=total_r, rate=_rate(total_r, total_c))


# ---- reopen on a reply ---------------------------------------------------------------------------------


async def _status_since(session: AsyncSession, ticket_id: int) -> datetime | None:
    q = select(func.max(TicketActivity.created_at)).where(
        TicketActivity.ticket_id == ticket_id, TicketActivity.kind.in_(("created", "status"))
    )
    return (await session.execute(q)).scalar()


async def reopen_on_reply(session: AsyncSession, conv: Conversation, msg: Message) -> list[int]:
    """Pending or solved tickets linked to the conversation go back to open; their ids. Only a message
    written after the ticket got its status counts (the listener may read a message late)."""
    reopened = []
    contact_actor = Actor(ActorType.CONTACT, conv.contact_id)
    for ticket in await service.tickets_of_conversation(session, conv.account_id, conv.id):
        target = status_after_reply(ticket.status)
        since = await _status_since(session, ticket.id) if target is not None else None
        if target is not None and (since is None or msg.created_at > since):
            await service.set_status(session, ticket, target, contact_actor, reason="customer_reply")
            reopened.append(ticket.id)
    return reopened


# ---- repeat contacts -----------------------------------------------------------------------------------


async def _is_first_customer_message(session: AsyncSession, msg: Message) -> bool:
    earlier = await session.execute(
        select(Message.id)
        .where(
            Message.conversation_id == msg.conversation_id,
            Message.direction == Direction.INCOMING,
            Message.id < msg.id,
        )
        .limit(1)
    )
    return earlier.first() is None


async def _candidates(session: AsyncSession, conv: Conversation, msg: Message, window_days: int) -> list[Ticket]:
    """The contact's active tickets and those solved within the window before the message, most recently
    updated first."""
    since = msg.created_at - timedelta(days=window_days)
    active = Ticket.status.in_([str(s) for s in ACTIVE])
    recently_solved = and_(Ticket.status == TicketStatus.SOLVED, Ticket.solved_at >= since)
    q = (
        select(Ticket)
        .where(Ticket.account_id == conv.account_id, Ticket.contact_id == conv.contact_id)
        .where(Ticket.created_at < msg.created_at, or_(active, recently_solved))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(MAX_CANDIDATES)
    )
    return list((await session.execute(q)).scalars())


async def _first_messages(session: AsyncSession, ticket_ids: list[int], skip_conv: int) -> dict[int, str]:
    """Per ticket: the first customer message of the earliest conversation linked to it."""
    firsts = (
        select(TicketConversation.ticket_id, func.min(TicketConversation.conversation_id).label("cid"))
        .where(TicketConversation.ticket_id.in_(ticket_ids), TicketConversation.conversation_id != skip_conv)
        .group_by(TicketConversation.ticket_id)
        .subquery()
    )
    first_msg = (
        select(Message.conversation_id, func.min(Message.id).label("mid"))
        .where(Message.conversation_id.in_(select(firsts.c.cid)), Message.direction == Direction.INCOMING)
        .group_by(Message.conversation_id)
        .subquery()
    )
    q = (
        select(firsts.c.ticket_id, Message.content)
        .join(first_msg, first_msg.c.conversation_id == firsts.c.cid)
        .join(Message, Message.id == first_msg.c.mid)
    )
    return {tid: content for tid, content in (await session.execute(q)).all()}


def ticket_texts(ticket: Ticket, first_message: str | None) -> list[str]:
    texts = [f"{ticket.subject}\n{ticket.description}".strip()[:MAX_TEXT]]
    if first_message and first_message.strip():
        texts.append(first_message[:MAX_TEXT])
    return texts


async def find_repeat(
    session: AsyncSession, conv: Conversation, msg: Message, embedder: Embedder, window_days: int
) -> tuple[Ticket, Match] | None:
    text = msg.content
    tickets = await _candidates(session, conv, msg, window_days)
    if not tickets or not text.strip():
        return None
    firsts = await _first_messages(session, [t.id for t in tickets], conv.id)
    per_ticket = [ticket_texts(t, firsts.get(t.id)) for t in tickets]
    flat = [text[:MAX_TEXT]] + [s for texts in per_ticket for s in texts]
    try:
        vectors = await asyncio.to_thread(embedder.embed_queries, flat)
    except Exception:  # an embedding endpoint that is down must not hold up reopening and the counts
        log.warning(
            "tickets: embedding failed; conversation %s is not checked for a repeat contact", conv.id, exc_info=True
        )
        return None
    message, rest = np.asarray(vectors[0]), np.asarray(vectors[1:])
    candidates, at = [], 0
    for ticket, texts in zip(tickets, per_ticket, strict=True):
        candidates.append((ticket.id, rest[at : at + len(texts)]))
        at += len(texts)
    match = best_match(message, candidates)
    if match is None:
        return None
    return next(t for t in tickets if t.id == match.ticket_id), match


async def _note(session: AsyncSession, conv: Conversation, ticket: Ticket, match: Match) -> None:
    """A private note in the conversation saying which ticket it was linked to (agents only)."""
    now = clock.now()
    meta = {"repeat_contact": {"ticket_id": ticket.id, "number": ticket.number, "similarity": match.similarity}}
    msg = Message(
        account_id=conv.account_id,
        conversation_id=conv.id,
        direction=str(Direction.OUTGOING),
        kind=str(MessageKind.NOTE),
        sender_type=str(ActorType.SYSTEM),
        sender_id=None,
        content=f"Repeat contact: linked to ticket #{ticket.number} ({ticket.subject})",
        attachments=[],
        meta=meta,
        created_at=now,
    )
    session.add(msg)
    await session.flush()
    emit(
        session,
        conv.account_id,
        EventType.MESSAGE_CREATED,
        MessageRead.model_validate(msg).model_dump(mode="json"),
        actor=Actor.system(),
        conversation_id=conv.id,
        contact_id=conv.contact_id,
    )


async def link_repeat(session: AsyncSession, conv: Conversation, ticket: Ticket, match: Match) -> None:
    await service.link(session, ticket, conv, LinkReason.REPEAT_CONTACT, Actor.system(), similarity=match.similarity)
    session.add(
        RepeatContact(
            account_id=conv.account_id,
            conversation_id=conv.id,
            ticket_id=ticket.id,
            contact_id=conv.contact_id,
            similarity=match.similarity,
            created_at=clock.now(),
        )
    )
    await count(session, conv.account_id, conv.created_at, repeats=1)
    await _note(session, conv, ticket, match)


async def on_customer_message(session: AsyncSession, message_id: int, embedder: Embedder | None) -> None:
    """The listener's work for one customer message: detect a repeat contact (first message only), then
    reopen the linked tickets that wait on the customer or were solved."""
    msg = await session.get(Message, message_id)
    if msg is None:  # erased since
        return
    conv = await session.get(Conversation, msg.conversation_id)
    if conv is None:
        return
    if await _is_first_customer_message(session, msg) and not await service.tickets_of_conversation(
        session, conv.account_id, conv.id
    ):
        account = await session.get(Account, conv.account_id)
        if embedder is None:
            log.warning("tickets: no embedder in the listener context; repeat contacts are not detected")
        elif account is not None:
            found = await find_repeat(session, conv, msg, embedder, settings_of(account).repeat_window_days)
            if found is not None:
                await link_repeat(session, conv, *found)
    await reopen_on_reply(session, conv, msg)
