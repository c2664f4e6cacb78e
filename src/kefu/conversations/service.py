"""Conversations and messages: receive, reply, note, assign, label, change status.

Every function here runs in the caller's transaction and ends with `commit` (events are published only
after the commit succeeds). A retried message with the same client_message_id is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Team
from kefu.accounts.service import get_continuity
from kefu.attachments.service import resolve_references
from kefu.auth.access import get_scoped, restrict
from kefu.auth.models import User
from kefu.channels.models import Inbox
from kefu.contacts.merge import resolve_contact_id
from kefu.contacts.models import Contact
from kefu.conversations import incoming, outbound
from kefu.conversations.models import Conversation, ConversationLabel, DeliveryStatus, Message
from kefu.conversations.schemas import ContactBrief, ContactMessageCreate, ConversationRead, MessageCreate, MessageRead
from kefu.conversations.status import can_transition, check_transition
from kefu.core import clock
from kefu.core.constants import (
    ActorType,
    Continuity,
    ConversationStatus,
    Direction,
    EventType,
    MessageKind,
)
from kefu.core.errors import BadRequest, Conflict, NotFound, TooLarge, Unprocessable
from kefu.core.events import Actor, commit, emit, rollback
from kefu.core.jobs import JobRunner

WAKE_JOB = "conversations.wake"
ASSIGNEE_FILTERS = ("me", "unassigned", "all")  # or a user id
MAX_ID = 2**63 - 1
MAX_SNOOZE = timedelta(days=365)


@dataclass(frozen=True)
class Posted:
    message: Message
    created: bool  # False when a retry returned the message stored the first time


def check_size(content: str, limit: int) -> None:
    if len(content) > limit:
        raise TooLarge(f"message is {len(content):,} characters; the limit is {limit:,}")


async def get_conversation(session: AsyncSession, account_id: int, conversation_id: int) -> Conversation:
    return await get_scoped(session, Conversation, conversation_id, account_id, "conversation")


async def labels_of(session: AsyncSession, ids: list[int]) -> dict[int, list[str]]:
    if not ids:
        return {}
    q = (
        select(ConversationLabel.conversation_id, ConversationLabel.label)
        .where(ConversationLabel.conversation_id.in_(ids))
        .order_by(ConversationLabel.label)
    )
    out: dict[int, list[str]] = {i: [] for i in ids}
    for cid, label in (await session.execute(q)).all():
        out[cid].append(label)
    return out


async def read_conversations(session: AsyncSession, convs: list[Conversation]) -> list[ConversationRead]:
    """API shapes for many conversations in three queries, whatever their number (no N+1)."""
    ids = [c.id for c in convs]
    labels = await labels_of(session, ids)
    contacts: dict[int, str] = {}
    last: dict[int, str] = {}
    if ids:
        cq = select(Contact.id, Contact.name).where(Contact.id.in_({c.contact_id for c in convs}))
        contacts = {cid: name for cid, name in (await session.execute(cq)).all()}
        newest = (
            select(func.max(Message.id))
            .where(Message.conversation_id.in_(ids), Message.kind != MessageKind.NOTE)
            .group_by(Message.conversation_id)
        )
        mq = select(Message.conversation_id, Message.content).where(Message.id.in_(newest))
        last = {cid: content[:200] for cid, content in (await session.execute(mq)).all()}
    return [_read(c, labels.get(c.id, []), contacts.get(c.contact_id, ""), last.get(c.id)) for c in convs]


def _read(conv: Conversation, labels: list[str], contact_name: str, last: str | None) -> ConversationRead:
    read = ConversationRead.model_validate(conv)
    read.labels = labels
    read.contact = ContactBrief(id=conv.contact_id, name=contact_name)
    read.last_message = last
    read.bot_active = bool(conv.bot_state.get("active"))
    return read


async def read_conversation(session: AsyncSession, conv: Conversation) -> ConversationRead:
    return (await read_conversations(session, [conv]))[0]


# ---- messages ---------------------------------------------------------------------------------------


async def _existing_message(
    session: AsyncSession, conversation_ids: Any, client_message_id: str | None
) -> Message | None:
    if client_message_id is None:
        return None
    q = select(Message).where(
        Message.conversation_id.in_(conversation_ids), Message.client_message_id == client_message_id
    )
    return (await session.execute(q)).scalars().first()


def _add_message(
    session: AsyncSession,
    conv: Conversation,
    *,
    direction: Direction,
    kind: MessageKind,
    actor: Actor,
    content: str,
    client_message_id: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """A message from kefu's side (an agent, the bot, the system); a customer's is `incoming.incoming_row`."""
    now = clock.now()
    msg = Message(
        account_id=conv.account_id,
        conversation_id=conv.id,
        direction=str(direction),
        kind=str(kind),
        sender_type=str(actor.type),
        sender_id=actor.id,
        content=content,
        attachments=attachments or [],
        client_message_id=client_message_id,
        meta=meta or {},
        created_at=now,
    )
    session.add(msg)
    if kind != MessageKind.NOTE:
        conv.last_activity_at = now
    if kind == MessageKind.TEXT and actor.type == ActorType.USER and conv.first_response_at is None:
        conv.first_response_at = now
    return msg


async def _emit_message(session: AsyncSession, msg: Message, actor: Actor, contact_id: int) -> None:
    await session.flush()
    emit(
        session,
        msg.account_id,
        EventType.MESSAGE_CREATED,
        MessageRead.model_validate(msg).model_dump(mode="json"),
        actor=actor,
        conversation_id=msg.conversation_id,
        contact_id=contact_id,
    )


async def _locked_contact(session: AsyncSession, contact_id: int, account_id: int) -> Contact:
    """Load the contact, serialising its concurrent messages (PostgreSQL row lock; SQLite is serial)."""
    contact = (
        await session.execute(select(Contact).where(Contact.id == contact_id).with_for_update())
    ).scalar_one_or_none()
    if contact is None or contact.account_id != account_id:
        raise NotFound("contact", contact_id)
    return contact


async def check_receive_contact_message(
    session: AsyncSession,
    inbox: Inbox,
    contact: Contact | int,
    data: ContactMessageCreate,
    *,
    max_chars: int,
    meta: Mapping[str, Any] | None = None,
    conversation_id: int | None = None,
) -> tuple[Conversation, Posted]:
    """A customer's message: continue their conversation in this inbox (reopening it if resolved) or
    start one — or continue `conversation_id` when the channel found the thread and it is this contact's.
    Idempotent on client_message_id: a retry returns the message stored the first time."""
    check_size(data.content, max_chars)
    # A contact merged into another writes as that one (an old widget token, a channel's stale id).
    contact_id = await resolve_contact_id(session, contact if isinstance(contact, int) else contact.id)
    inbox_id = inbox.id  # read before a rollback expires the instance
    try:
        return await _receive(session, inbox, contact_id, data, meta, conversation_id)
    except IntegrityError:
        # The same client_message_id is already stored (a retry, or a concurrent duplicate): return it.
        await rollback(session)
        convs: Any = incoming.conversations_of([(inbox_id, contact_id)])
        if conversation_id is not None:
            convs = convs.union(select(Conversation.id).where(Conversation.id == conversation_id))
        existing = await _existing_message(session, convs, data.client_message_id)
        if existing is None:
            raise
        conv = await session.get(Conversation, existing.conversation_id)
        assert conv is not None
        await session.commit()
        return conv, Posted(existing, created=False)


async def _receive(
    session: AsyncSession,
    inbox: Inbox,
    contact_id: int,
    data: ContactMessageCreate,
    meta: Mapping[str, Any] | None = None,
    thread: int | None = None,
) -> tuple[Conversation, Posted]:
    contact = await _locked_contact(session, contact_id, inbox.account_id)
    actor = Actor(ActorType.CONTACT, contact.id)
    conv = await _threaded_conversation(session, contact, thread, actor) if thread is not None else None
    if conv is None:
        conv = await _current_conversation(session, inbox, contact, actor)
    now = clock.now()
    msg = Message(
        **incoming.incoming_row(
            account_id=conv.account_id,
            inbox_id=inbox.id,
            conversation_id=conv.id,
            contact_id=contact.id,
            content=data.content,
            attachments=[a.model_dump() for a in data.attachments],
            client_message_id=data.client_message_id,
            at=now,
            meta=meta,
        )
    )
    session.add(msg)
    for column, value in incoming.activity(now).items():
        setattr(conv, column, value)
    await _emit_message(session, msg, actor, conv.contact_id)  # flush: a duplicate id raises IntegrityError here
    await commit(session)
    return conv, Posted(msg, created=True)


async def _threaded_conversation(
    session: AsyncSession, contact: Contact, conversation_id: int, actor: Actor
) -> Conversation | None:
    """The conversation a channel threaded the message into, if it is this contact's (reopened)."""
    conv = await session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != contact.account_id or conv.contact_id != contact.id:
        return None
    if conv.status != ConversationStatus.OPEN:
        _set_status(session, conv, ConversationStatus.OPEN, None, actor)
    return conv


async def _current_conversation(session: AsyncSession, inbox: Inbox, contact: Contact, actor: Actor) -> Conversation:
    """The conversation a customer's message goes to: the contact's latest in this inbox while it is not
    resolved; else, by the account's continuity setting, their unresolved conversation in another inbox
    (`same_conversation`) or a new one here linked to it (`linked`); else the latest here (reopened) or a
    new one. docs/customers.md#continuity."""
    q = select(Conversation).where(Conversation.id.in_(incoming.latest_conversation_ids([(inbox.id, contact.id)])))
    conv = (await session.execute(q)).scalar_one_or_none()
    linked: Conversation | None = None
    if conv is None or conv.status == ConversationStatus.RESOLVED:
        elsewhere = await _unresolved_elsewhere(session, inbox, contact)
        if elsewhere is not None and await get_continuity(session, inbox.account_id) == Continuity.SAME_CONVERSATION:
            conv = elsewhere
        elif elsewhere is not None:
            conv, linked = None, elsewhere
    if conv is None:
        conv = incoming.new_conversation(inbox, contact)
        conv.linked_conversation_id = linked.id if linked is not None else None
        session.add(conv)
        await session.flush()
        _emit_conv(
            session,
            conv,
            EventType.CONVERSATION_CREATED,
            ConversationRead.model_validate(conv).model_dump(mode="json"),
            actor,
        )
    elif conv.status != ConversationStatus.OPEN:
        _set_status(session, conv, ConversationStatus.OPEN, None, actor)
    return conv


async def do_retry_delivery(
    session: AsyncSession, account_id: int, conv_id: int, message_id: int, jobs: JobRunner | None
) -> tuple[Conversation, Message]:
    """Send a reply whose delivery failed again: pending, with a fresh round of retries
    (channels/delivery.py). Only a failed message of this conversation can be sent again (409 otherwise)."""
    conv = await get_conversation(session, account_id, conv_id)
    msg = await session.get(Message, message_id)
    if msg is None or msg.conversation_id != conv.id:
        raise NotFound("message", message_id)
    if msg.delivery_status != DeliveryStatus.FAILED:
        state = msg.delivery_status or "not delivered by a channel"
        raise Conflict(f"message {message_id} can be sent again only after its delivery failed (it is {state})")
    msg.delivery_status = str(DeliveryStatus.PENDING)
    msg.delivery_error = None
    msg.delivery_attempts = 0
    await commit(session)
    await outbound.enqueue_delivery(jobs, msg)
    return conv, msg


async def _unresolved_elsewhere(session: AsyncSession, inbox: Inbox, contact: Contact) -> Conversation | None:
    """The contact's most recently active conversation in another inbox that is not resolved."""
    q = (
        select(Conversation)
        .where(
            Conversation.contact_id == contact.id,
            Conversation.inbox_id != inbox.id,
            Conversation.status != ConversationStatus.RESOLVED,
        )
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(1)
    )
    return (await session.execute(q)).scalar_one_or_none()


async def reply_inbox_ids(session: AsyncSession, conv: Conversation) -> list[int]:
    """The inboxes a reply may go out on: the conversation's, those the customer wrote from in it, and those
    of the contact's other conversations (sorted)."""
    through = select(Message.inbox_id).where(
        Message.conversation_id == conv.id, Message.direction == Direction.INCOMING, Message.inbox_id.is_not(None)
    )
    of_contact = select(Conversation.inbox_id).where(Conversation.contact_id == conv.contact_id)
    found = {i for i in (await session.execute(through.union(of_contact))).scalars() if i is not None}
    return sorted(found | {conv.inbox_id})


async def reply_inbox_id(session: AsyncSession, conv: Conversation, chosen: int | None = None) -> int:
    """The inbox a reply goes out on: `chosen` when the customer is reachable there (`reply_inbox_ids`;
    422 otherwise), else the one the customer last wrote from in this conversation, else the conversation's."""
    if chosen is None:
        last = await session.scalar(
            select(Message.inbox_id)
            .where(
                Message.conversation_id == conv.id,
                Message.direction == Direction.INCOMING,
                Message.inbox_id.is_not(None),
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        return int(last) if last is not None else conv.inbox_id
    reachable = await reply_inbox_ids(session, conv)
    if chosen not in reachable:
        raise Unprocessable(
            f"the customer has not written from inbox {chosen}; reply on one of inboxes "
            + ", ".join(str(i) for i in reachable)
        )
    return chosen


async def check_post_agent_message(
    session: AsyncSession,
    account_id: int,
    conv_id: int,
    data: MessageCreate,
    actor: Actor,
    *,
    max_chars: int,
    secret: str = "",
    jobs: JobRunner | None = None,
) -> tuple[Conversation, Posted]:
    """An agent's reply or private note. A reply to an unassigned conversation assigns it to the agent.
    Its attachments must be uploads of the account (`secret`, the app's, signs their URLs; only needed
    when there are attachments). A reply in an inbox whose channel delivers it itself is marked pending
    and handed to `jobs` for delivery (channels/delivery.py)."""
    conv = await get_conversation(session, account_id, conv_id)
    check_size(data.content, max_chars)
    attachments = await resolve_references(session, account_id, data.attachments, secret, sender=actor)
    existing = await _existing_message(session, [conv.id], data.client_message_id)
    if existing is not None:
        return conv, Posted(existing, created=False)
    kind = MessageKind.NOTE if data.kind == "note" else MessageKind.TEXT
    if kind == MessageKind.TEXT and (refused := await outbound.reply_refusal(session, conv)) is not None:
        raise Conflict(refused, details={"reason": "channel_refused_reply"})
    direction = Direction.OUTGOING
    msg = _add_message(
        session,
        conv,
        direction=direction,
        kind=kind,
        actor=actor,
        content=data.content,
        client_message_id=data.client_message_id,
        attachments=[a.model_dump() for a in attachments],
    )
    if kind == MessageKind.TEXT:
        msg.inbox_id = await reply_inbox_id(session, conv, data.inbox_id)
    if kind == MessageKind.TEXT and conv.assignee_id is None and actor.type == ActorType.USER:
        _set_assignee(session, conv, actor.id, actor)
    await outbound.mark_for_delivery(session, conv, msg)
    await _emit_message(session, msg, actor, conv.contact_id)
    try:
        await commit(session)
    except IntegrityError:
        await rollback(session)
        existing = await _existing_message(session, [conv_id], data.client_message_id)
        if existing is None:
            raise
        conv = await get_conversation(session, account_id, conv_id)
        return conv, Posted(existing, created=False)
    await outbound.enqueue_delivery(jobs, msg)
    return conv, Posted(msg, created=True)


async def do_post_bot_message(
    session: AsyncSession,
    conv: Conversation,
    content: str,
    *,
    kind: MessageKind = MessageKind.BOT,
    meta: dict[str, Any] | None = None,
    jobs: JobRunner | None = None,
    commit_now: bool = True,
) -> Message:
    """The bot's answer (or its handoff note); an answer is delivered like an agent's reply. With
    `commit_now=False` the caller commits, then starts the delivery (`outbound.enqueue_delivery`)."""
    actor = Actor(ActorType.BOT if kind == MessageKind.BOT else ActorType.SYSTEM)
    msg = _add_message(session, conv, direction=Direction.OUTGOING, kind=kind, actor=actor, content=content, meta=meta)
    if kind == MessageKind.BOT:
        msg.inbox_id = await reply_inbox_id(session, conv)
    await outbound.mark_for_delivery(session, conv, msg)
    await _emit_message(session, msg, actor, conv.contact_id)
    if commit_now:
        await commit(session)
        await outbound.enqueue_delivery(jobs, msg)
    return msg


async def do_add_system_note(
    session: AsyncSession, conv: Conversation, content: str, *, meta: dict[str, Any] | None = None
) -> Message:
    """A private note written by kefu itself (e.g. an automation rule saying what it did); the caller commits."""
    actor = Actor.system()
    msg = _add_message(
        session, conv, direction=Direction.OUTGOING, kind=MessageKind.NOTE, actor=actor, content=content, meta=meta
    )
    await _emit_message(session, msg, actor, conv.contact_id)
    return msg


async def list_messages(
    session: AsyncSession, conv: Conversation, *, after_id: int | None, limit: int, include_notes: bool
) -> list[Message]:
    q = select(Message).where(Message.conversation_id == conv.id)
    if after_id is not None:
        q = q.where(Message.id > after_id)
    if not include_notes:
        q = q.where(Message.kind != MessageKind.NOTE)
    return list((await session.execute(q.order_by(Message.id).limit(limit))).scalars())


# ---- assignment, status, labels ----------------------------------------------------------------------


def _emit_conv(
    session: AsyncSession, conv: Conversation, type: EventType, payload: dict[str, Any], actor: Actor
) -> None:
    emit(session, conv.account_id, type, payload, actor=actor, conversation_id=conv.id, contact_id=conv.contact_id)


def _conv_payload(conv: Conversation, **extra: Any) -> dict[str, Any]:
    data = ConversationRead.model_validate(conv).model_dump(mode="json")
    data.update(extra)
    return data


def _set_assignee(session: AsyncSession, conv: Conversation, user_id: int | None, actor: Actor) -> None:
    previous = conv.assignee_id
    conv.assignee_id = user_id
    _emit_conv(
        session, conv, EventType.CONVERSATION_ASSIGNED, _conv_payload(conv, previous_assignee_id=previous), actor
    )


def set_assignee(session: AsyncSession, conv: Conversation, user_id: int | None, actor: Actor) -> None:
    """Assign in the caller's transaction (no commit): the routing assigner batches several per commit.
    Emits conversation.assigned like every assignment."""
    if conv.assignee_id != user_id:
        _set_assignee(session, conv, user_id, actor)


async def do_assign(
    session: AsyncSession,
    account_id: int,
    conv_id: int,
    assignee_id: int | None,
    actor: Actor,
    *,
    commit_now: bool = True,
) -> Conversation:
    conv = await get_conversation(session, account_id, conv_id)
    if assignee_id is not None:
        user = await get_scoped(session, User, assignee_id, account_id, "user")
        if not user.is_active:
            raise BadRequest(f"user {assignee_id} is deactivated and cannot be assigned")
    if conv.assignee_id != assignee_id:
        _set_assignee(session, conv, assignee_id, actor)
        await _commit_or_flush(session, commit_now)
    return conv


def _set_status(
    session: AsyncSession, conv: Conversation, status: ConversationStatus, until: datetime | None, actor: Actor
) -> None:
    previous = conv.status
    check_transition(previous, status)
    conv.status = str(status)
    conv.snoozed_until = until if status == ConversationStatus.SNOOZED else None
    if status == ConversationStatus.RESOLVED:
        conv.resolved_at = clock.now()
    elif previous == ConversationStatus.RESOLVED:
        conv.resolved_at = None
        conv.bot_state = {}
    _emit_conv(
        session, conv, EventType.CONVERSATION_STATUS_CHANGED, _conv_payload(conv, previous_status=previous), actor
    )


async def do_change_status(
    session: AsyncSession,
    account_id: int,
    conv_id: int,
    status: ConversationStatus,
    until: datetime | None,
    actor: Actor,
    jobs: JobRunner | None = None,
) -> Conversation:
    conv = await get_conversation(session, account_id, conv_id)
    check_transition(conv.status, status)
    if status == ConversationStatus.SNOOZED:
        if until is None:
            raise BadRequest("snoozed_until is required to snooze a conversation")
        until = clock.ensure_utc(until)
        if until <= clock.now():
            raise BadRequest("snoozed_until must be in the future")
        if until - clock.now() > MAX_SNOOZE:
            raise Unprocessable(f"snoozed_until must be at most {MAX_SNOOZE.days} days ahead")
    elif until is not None:
        raise BadRequest("snoozed_until is only allowed with status snoozed")
    if conv.status != status or conv.snoozed_until != until:
        _set_status(session, conv, status, until, actor)
        await commit(session)
        if until is not None and jobs is not None:
            delay = max(0.0, (until - clock.now()).total_seconds())
            await jobs.enqueue(WAKE_JOB, delay_s=delay, conversation_id=conv.id)
    return conv


async def do_wake_if_due(session: AsyncSession, conv_id: int) -> bool:
    conv = await session.get(Conversation, conv_id)
    now = clock.now()
    if conv is None or conv.status != ConversationStatus.SNOOZED or conv.snoozed_until is None:
        return False
    if conv.snoozed_until > now:
        return False
    _set_status(session, conv, ConversationStatus.OPEN, None, Actor.system())
    await commit(session)
    return True


async def do_update_conversation(
    session: AsyncSession,
    account_id: int,
    conv_id: int,
    changes: dict[str, Any],
    actor: Actor,
    *,
    commit_now: bool = True,
) -> Conversation:
    conv = await get_conversation(session, account_id, conv_id)
    if changes.get("team_id") is not None:
        await get_scoped(session, Team, changes["team_id"], account_id, "team")
    for field, value in changes.items():
        if value is None and field != "team_id":
            raise BadRequest(f"{field} cannot be null")
        setattr(conv, field, str(value) if field == "priority" else value)
    if "priority" in changes and "priority_reasons" not in changes:
        conv.priority_reasons = [MANUAL_PRIORITY]  # set by a person: the queue's matrix leaves it (kefu.routing)
    _emit_conv(session, conv, EventType.CONVERSATION_UPDATED, _conv_payload(conv), actor)
    await _commit_or_flush(session, commit_now)
    return conv


async def do_set_labels(
    session: AsyncSession,
    account_id: int,
    conv_id: int,
    labels: list[str],
    actor: Actor,
    *,
    mode: str = "set",
    commit_now: bool = True,
) -> list[str]:
    """mode: set (replace all), add (one or more), remove."""
    conv = await get_conversation(session, account_id, conv_id)
    current = set((await labels_of(session, [conv.id]))[conv.id])
    wanted = {lb.strip() for lb in labels}
    target = wanted if mode == "set" else (current | wanted if mode == "add" else current - wanted)
    if mode == "remove" and not wanted & current:
        raise NotFound("label", ", ".join(sorted(wanted)))
    if target == current:
        return sorted(current)
    await session.execute(delete(ConversationLabel).where(ConversationLabel.conversation_id == conv.id))
    for label in sorted(target):
        session.add(ConversationLabel(conversation_id=conv.id, label=label, account_id=account_id))
    _emit_conv(
        session,
        conv,
        EventType.CONVERSATION_LABELS_CHANGED,
        {"id": conv.id, "labels": sorted(target), "previous": sorted(current)},
        actor,
    )
    await _commit_or_flush(session, commit_now)
    return sorted(target)


async def _commit_or_flush(session: AsyncSession, commit_now: bool) -> None:
    """Commit (then publish), or only flush when the caller's transaction goes on (a listener's savepoint)."""
    if commit_now:
        await commit(session)
    else:
        await session.flush()


MANUAL_PRIORITY = "manual"


def _assignee_id(assignee: str) -> int:
    """The user id an `assignee` filter names; anything but me / unassigned / all / an id is a 422."""
    if assignee.isascii() and assignee.isdigit() and 1 <= int(assignee) <= MAX_ID:
        return int(assignee)
    message = f"must be one of {', '.join(ASSIGNEE_FILTERS)} or a user id"
    detail = {"field": "assignee", "message": message, "type": "value_error"}
    raise Unprocessable(f"assignee: {message}", details=[detail])


async def list_conversations(
    session: AsyncSession,
    account_id: int,
    *,
    status: str | None,
    assignee: str | None,
    team_id: int | None,
    label: str | None,
    inbox_id: int | None,
    contact_id: int | None,
    me_id: int,
    cursor: Any,
    limit: int,
) -> tuple[list[Conversation], Any]:
    from kefu.core.pagination import page_by_time

    q = restrict(select(Conversation), Conversation, account_id)
    if status and status != "all":
        q = q.where(Conversation.status == status)
    if assignee == "me":
        q = q.where(Conversation.assignee_id == me_id)
    elif assignee == "unassigned":
        q = q.where(Conversation.assignee_id.is_(None))
    elif assignee and assignee != "all":
        q = q.where(Conversation.assignee_id == _assignee_id(assignee))
    if team_id is not None:
        q = q.where(Conversation.team_id == team_id)
    if inbox_id is not None:
        q = q.where(Conversation.inbox_id == inbox_id)
    if contact_id is not None:
        q = q.where(Conversation.contact_id == contact_id)
    if label:
        q = q.where(
            Conversation.id.in_(
                select(ConversationLabel.conversation_id).where(
                    ConversationLabel.account_id == account_id, ConversationLabel.label == label
                )
            )
        )
    return await page_by_time(session, q, Conversation, Conversation.last_activity_at, cursor, limit)


async def do_change_status_system(
    session: AsyncSession, conv_id: int, status: ConversationStatus, *, reason: str
) -> bool:
    """A status change made by kefu itself (auto-resolve), with a system message saying why. A change the
    transition table does not allow from the conversation's status now is skipped (False), not forced."""
    conv = await session.get(Conversation, conv_id)
    if conv is None or conv.status == status or not can_transition(conv.status, status):
        return False
    _set_status(session, conv, status, None, Actor.system())
    msg = _add_message(
        session,
        conv,
        direction=Direction.OUTGOING,
        kind=MessageKind.SYSTEM,
        actor=Actor.system(),
        content=f"status:{status}:{reason}",
        meta={"reason": reason},
    )
    await _emit_message(session, msg, Actor.system(), conv.contact_id)
    await commit(session)
    return True
