"""Tickets: create, update, change status, notes, link conversations, timeline, list and search.

The only place that writes tickets. Every change records a timeline entry (`ticket_activities`: who, what,
when) and a domain event (ticket.created / updated / status_changed / linked, payload
`core.event_types.TicketChanged`) in the same transaction; `commit` publishes the events after the commit.
Custom field definitions, saved views and the account's ticket settings are in `tickets.setup`; repeat
contacts in `tickets.repeat`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account, Team, TeamMember
from kefu.auth.access import get_scoped, restrict
from kefu.auth.models import User
from kefu.auth.principal import Principal
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import ActorType, EventType, Priority, Role
from kefu.core.errors import BadRequest, Conflict, NotFound, Unprocessable
from kefu.core.events import Actor, commit, emit
from kefu.core.pagination import Cursor, page_by_time
from kefu.tickets.custom_fields import FieldDef, check_values
from kefu.tickets.models import Ticket, TicketActivity, TicketConversation, TicketField
from kefu.tickets.schemas import LinkReason, TicketCreate, TicketRead, ViewFilters
from kefu.tickets.states import TicketStatus, check_transition

FIRST_NUMBER = 1001


@dataclass(frozen=True)
class TicketScope:
    """An agent's tickets: those of their teams, of no team, or assigned to them (docs/tickets.md)."""

    user_id: int


def scope_of(principal: Principal) -> TicketScope | None:
    """Agents see their scope; supervisors and admins the whole account."""
    return TicketScope(principal.user.id) if principal.user.role == Role.AGENT else None


def _scoped(query: Select[Any], account_id: int, scope: TicketScope | None) -> Select[Any]:
    query = restrict(query, Ticket, account_id)
    if scope is None:
        return query
    teams = select(TeamMember.team_id).where(TeamMember.account_id == account_id, TeamMember.user_id == scope.user_id)
    return query.where(or_(Ticket.team_id.is_(None), Ticket.team_id.in_(teams), Ticket.assignee_id == scope.user_id))


# ---- reads ---------------------------------------------------------------------------------------------


async def get_ticket(
    session: AsyncSession, account_id: int, ticket_id: int, scope: TicketScope | None = None
) -> Ticket:
    """The ticket if the account (and the scope, when given) has it; otherwise 404."""
    if scope is None:
        return await get_scoped(session, Ticket, ticket_id, account_id, "ticket")
    ticket = (await session.execute(_scoped(select(Ticket), account_id, scope).where(Ticket.id == ticket_id))).scalar()
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


async def links_of(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {i: [] for i in ticket_ids}
    if ticket_ids:
        q = (
            select(TicketConversation.ticket_id, TicketConversation.conversation_id)
            .where(TicketConversation.ticket_id.in_(ticket_ids))
            .order_by(TicketConversation.conversation_id)
        )
        for tid, cid in (await session.execute(q)).all():
            out[tid].append(cid)
    return out


async def read_tickets(session: AsyncSession, tickets: list[Ticket]) -> list[TicketRead]:
    """API shapes for many tickets in one more query, whatever their number (no N+1)."""
    links = await links_of(session, [t.id for t in tickets])
    reads = []
    for ticket in tickets:
        read = TicketRead.model_validate(ticket)
        read.conversation_ids = links[ticket.id]
        reads.append(read)
    return reads


async def read_ticket(session: AsyncSession, ticket: Ticket) -> TicketRead:
    return (await read_tickets(session, [ticket]))[0]


async def contact_names(session: AsyncSession, account_id: int, tickets: list[TicketRead]) -> dict[int, str]:
    """The names of the tickets' customers, in one query (the list page)."""
    ids = {t.contact_id for t in tickets if t.contact_id is not None}
    if not ids:
        return {}
    q = select(Contact.id, Contact.name).where(Contact.account_id == account_id, Contact.id.in_(ids))
    return {cid: name for cid, name in (await session.execute(q)).all()}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(query: Select[Any], account_id: int, q: str) -> Select[Any]:
    """Subject, description, the contact's name / email / phone (ILIKE), or the number (#1024 or 1024)."""
    text = q.strip()
    pattern = _like(text)
    contacts = select(Contact.id).where(
        Contact.account_id == account_id,
        or_(
            Contact.name.ilike(pattern, escape="\\"),
            Contact.email.ilike(pattern, escape="\\"),
            Contact.phone.ilike(pattern, escape="\\"),
        ),
    )
    clauses: list[ColumnElement[bool]] = [
        Ticket.subject.ilike(pattern, escape="\\"),
        Ticket.description.ilike(pattern, escape="\\"),
        Ticket.contact_id.in_(contacts),
    ]
    digits = text.removeprefix("#")
    if digits.isascii() and digits.isdigit() and len(digits) <= 9:
        clauses.append(Ticket.number == int(digits))
    return query.where(or_(*clauses))


def _filtered(query: Select[Any], account_id: int, filters: ViewFilters, me_id: int) -> Select[Any]:
    if filters.q and filters.q.strip():
        query = _search(query, account_id, filters.q)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status)
    if filters.priority is not None:
        query = query.where(Ticket.priority == filters.priority)
    if filters.assignee == "me":
        query = query.where(Ticket.assignee_id == me_id)
    elif filters.assignee == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None))
    elif filters.assignee:
        query = query.where(Ticket.assignee_id == int(filters.assignee))
    if filters.team_id is not None:
        query = query.where(Ticket.team_id == filters.team_id)
    if filters.contact_id is not None:
        query = query.where(Ticket.contact_id == filters.contact_id)
    return query


async def list_tickets(
    session: AsyncSession,
    account_id: int,
    filters: ViewFilters,
    *,
    me_id: int,
    scope: TicketScope | None,
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[Ticket], Cursor | None]:
    """Most recently updated first, filtered and searched (docs/tickets.md "Search and saved views")."""
    query = _filtered(_scoped(select(Ticket), account_id, scope), account_id, filters, me_id)
    return await page_by_time(session, query, Ticket, Ticket.updated_at, cursor, limit)


async def list_activities(session: AsyncSession, ticket: Ticket, *, notes_only: bool = False) -> list[TicketActivity]:
    q = select(TicketActivity).where(TicketActivity.ticket_id == ticket.id)
    if notes_only:
        q = q.where(TicketActivity.kind == "note")
    return list((await session.execute(q.order_by(TicketActivity.id))).scalars())


async def field_defs(session: AsyncSession, account_id: int) -> list[FieldDef]:
    q = restrict(select(TicketField), TicketField, account_id).order_by(TicketField.position, TicketField.id)
    return [FieldDef(f.key, f.type, tuple(f.options), f.required) for f in (await session.execute(q)).scalars()]


# ---- writes --------------------------------------------------------------------------------------------


def _payload(ticket: Ticket, previous_status: str | None, tier: str | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": ticket.id,
        "number": ticket.number,
        "status": ticket.status,
        "previous_status": previous_status,
        "priority": ticket.priority,
        "tier": tier,
        "contact_id": ticket.contact_id,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
    }
    data.update(extra)
    return data


async def _emit(
    session: AsyncSession,
    ticket: Ticket,
    type: EventType,
    actor: Actor,
    *,
    conversation_id: int | None = None,
    previous_status: str | None = None,
    **extra: Any,
) -> None:
    """The event of a change, with the customer's tier (SLA targets are per priority × tier)."""
    contact = await session.get(Contact, ticket.contact_id) if ticket.contact_id is not None else None
    tier = contact.tier if contact is not None else None
    payload = _payload(ticket, previous_status, tier, conversation_id=conversation_id, **extra)
    emit(
        session,
        ticket.account_id,
        type,
        payload,
        actor=actor,
        conversation_id=conversation_id,
        contact_id=ticket.contact_id,
    )


def record(
    session: AsyncSession, ticket: Ticket, kind: str, actor: Actor, data: dict[str, Any] | None = None, body: str = ""
) -> TicketActivity:
    """Add a timeline entry (in the caller's transaction)."""
    entry = TicketActivity(
        account_id=ticket.account_id,
        ticket_id=ticket.id,
        actor_type=str(actor.type),
        actor_id=actor.id,
        kind=kind,
        data=data or {},
        body=body,
        created_at=clock.now(),
    )
    session.add(entry)
    return entry


async def _next_number(session: AsyncSession, account_id: int) -> int:
    """The account's next ticket number. The account row is locked first (PostgreSQL; SQLite writes are
    serial), so two tickets created at once get different numbers. FOR NO KEY UPDATE: it does not block the
    key-share locks every insert of an account's rows takes on it (a FOR UPDATE here deadlocked with them)."""
    lock = select(Account.id).where(Account.id == account_id).with_for_update(key_share=True)  # FOR NO KEY UPDATE
    await session.execute(lock)
    top = (await session.execute(select(func.max(Ticket.number)).where(Ticket.account_id == account_id))).scalar()
    return FIRST_NUMBER if top is None else int(top) + 1


async def _check_people(session: AsyncSession, account_id: int, assignee_id: int | None, team_id: int | None) -> None:
    if assignee_id is not None:
        user = await get_scoped(session, User, assignee_id, account_id, "user")
        if not user.is_active:
            raise BadRequest(f"user {assignee_id} is deactivated and cannot be assigned")
    if team_id is not None:
        await get_scoped(session, Team, team_id, account_id, "team")


async def _source_conversation(
    session: AsyncSession, account_id: int, conversation_id: int | None, contact_id: int | None
) -> tuple[Conversation | None, int | None]:
    """The conversation a ticket is created from (its contact is the ticket's), and the contact."""
    if conversation_id is None:
        if contact_id is not None:
            await get_scoped(session, Contact, contact_id, account_id, "contact")
        return None, contact_id
    conv = await get_scoped(session, Conversation, conversation_id, account_id, "conversation")
    if contact_id is not None and contact_id != conv.contact_id:
        raise BadRequest(f"contact {contact_id} is not the contact of conversation {conversation_id}")
    return conv, conv.contact_id


async def do_create_ticket(
    session: AsyncSession,
    account_id: int,
    *,
    subject: str,
    actor: Actor,
    conversation_id: int | None = None,
    contact_id: int | None = None,
    priority: str | None = None,
    description: str = "",
    commit: bool = True,
) -> Ticket:
    """A new ticket (status new), from a conversation (linked, `created_from`), by an agent or by a rule
    (automation). With `commit=False` it only flushes: the caller commits. Required custom fields do not
    stop this path (a rule cannot fill them); agents fill them afterwards."""
    try:
        data = TicketCreate(
            subject=subject,
            description=description,
            priority=priority,
            conversation_id=conversation_id,
            contact_id=contact_id,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise Unprocessable(f"ticket: {problems}") from None
    source = "rule" if actor.type == ActorType.SYSTEM else "agent"
    return await check_create_ticket(session, account_id, data, actor, source=source, commit=commit, fields=False)


async def check_create_ticket(
    session: AsyncSession,
    account_id: int,
    data: TicketCreate,
    actor: Actor,
    *,
    source: str = "agent",
    commit: bool = True,
    fields: bool = True,
) -> Ticket:
    """Validate everything (ids of the account, custom fields), then create; nothing is written on a 4xx."""
    conv, contact_id = await _source_conversation(session, account_id, data.conversation_id, data.contact_id)
    await _check_people(session, account_id, data.assignee_id, data.team_id)
    custom: dict[str, Any] = {}
    if fields or data.custom_fields:
        custom = check_values(await field_defs(session, account_id), {}, data.custom_fields, creating=fields)
    priority = data.priority or (Priority(conv.priority) if conv is not None else Priority.P3)
    ticket = Ticket(
        account_id=account_id,
        number=await _next_number(session, account_id),
        subject=data.subject,
        description=data.description,
        status=TicketStatus.NEW,
        priority=str(priority),
        contact_id=contact_id,
        assignee_id=data.assignee_id,
        team_id=data.team_id if data.team_id is not None else (conv.team_id if conv is not None else None),
        custom_fields=custom,
        source="conversation" if conv is not None and source != "rule" else source,  # a rule's stays "rule"
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(ticket)
    await session.flush()
    conv_id = conv.id if conv is not None else None
    if conv is not None:
        session.add(_link_row(ticket, conv.id, LinkReason.CREATED_FROM))
    record(
        session,
        ticket,
        "created",
        actor,
        {"number": ticket.number, "source": ticket.source, "conversation_id": conv_id},
    )
    await _emit(
        session,
        ticket,
        EventType.TICKET_CREATED,
        actor,
        conversation_id=conv_id,
        subject=ticket.subject,
        source=ticket.source,
    )
    await _finish(session, commit)
    return ticket


async def _finish(session: AsyncSession, do_commit: bool) -> None:
    if do_commit:
        await commit(session)
    else:
        await session.flush()


def _link_row(ticket: Ticket, conversation_id: int, reason: LinkReason) -> TicketConversation:
    return TicketConversation(
        ticket_id=ticket.id,
        conversation_id=conversation_id,
        account_id=ticket.account_id,
        reason=str(reason),
        created_at=clock.now(),
    )


def _check_not_closed(ticket: Ticket, what: str) -> None:
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict(f"ticket #{ticket.number} is closed: it cannot {what}")


async def check_update_ticket(
    session: AsyncSession,
    account_id: int,
    ticket_id: int,
    changes: dict[str, Any],
    actor: Actor,
    scope: TicketScope | None = None,
) -> Ticket:
    """Change fields (PATCH): each changed field is one timeline entry with from/to; custom fields are
    merged and checked against the definitions."""
    ticket = await get_ticket(session, account_id, ticket_id, scope)
    _check_not_closed(ticket, "be edited")
    await _check_people(session, account_id, changes.get("assignee_id"), changes.get("team_id"))
    if changes.get("contact_id") is not None:
        await get_scoped(session, Contact, changes["contact_id"], account_id, "contact")
    custom = changes.pop("custom_fields", None)
    changed: list[str] = []
    for field, value in changes.items():
        value = str(value) if field == "priority" else value
        if getattr(ticket, field) != value:
            kind = field.removesuffix("_id")
            record(session, ticket, kind, actor, {"from": getattr(ticket, field), "to": value})
            setattr(ticket, field, value)
            changed.append(field)
    if custom is not None:
        merged = check_values(await field_defs(session, account_id), ticket.custom_fields, custom, creating=False)
        if merged != ticket.custom_fields:
            diff = {k: {"from": ticket.custom_fields.get(k), "to": merged.get(k)} for k in sorted(set(custom))}
            record(session, ticket, "fields", actor, {"changes": diff})
            ticket.custom_fields = merged
            changed.append("custom_fields")
    if changed:
        ticket.updated_at = clock.now()
        await _emit(session, ticket, EventType.TICKET_UPDATED, actor, changed=changed)
        await commit(session)
    return ticket


async def set_status(session: AsyncSession, ticket: Ticket, status: TicketStatus, actor: Actor, **extra: Any) -> None:
    """Move a ticket along the transition table (tickets/states.py), with its timeline entry and event."""
    previous = ticket.status
    check_transition(previous, status)
    now = clock.now()
    ticket.status = str(status)
    ticket.updated_at = now
    if status == TicketStatus.SOLVED:
        ticket.solved_at = now
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
    else:
        ticket.solved_at = None
    record(session, ticket, "status", actor, {"from": previous, "to": str(status), **extra})
    await _emit(session, ticket, EventType.TICKET_STATUS_CHANGED, actor, previous_status=previous, **extra)


async def do_change_status(
    session: AsyncSession,
    account_id: int,
    ticket_id: int,
    status: TicketStatus,
    actor: Actor,
    scope: TicketScope | None = None,
) -> Ticket:
    """409 for a change the table refuses; the same status again changes nothing."""
    ticket = await get_ticket(session, account_id, ticket_id, scope)
    check_transition(ticket.status, status)
    if ticket.status != status:
        await set_status(session, ticket, status, actor)
        await commit(session)
    return ticket


async def do_add_note(
    session: AsyncSession, account_id: int, ticket_id: int, body: str, actor: Actor, scope: TicketScope | None = None
) -> TicketActivity:
    """An internal note: a timeline entry with its text (customers never see tickets)."""
    ticket = await get_ticket(session, account_id, ticket_id, scope)
    note = record(session, ticket, "note", actor, body=body)
    ticket.updated_at = clock.now()
    await session.flush()
    await _emit(session, ticket, EventType.TICKET_UPDATED, actor, changed=["notes"], note_id=note.id)
    await commit(session)
    return note


async def link(
    session: AsyncSession, ticket: Ticket, conv: Conversation, reason: LinkReason, actor: Actor, **extra: Any
) -> None:
    """Link a conversation (caller's transaction): the row, a timeline entry, ticket.linked."""
    session.add(_link_row(ticket, conv.id, reason))
    ticket.updated_at = clock.now()
    record(session, ticket, "linked", actor, {"conversation_id": conv.id, "reason": str(reason), **extra})
    await _emit(session, ticket, EventType.TICKET_LINKED, actor, conversation_id=conv.id, reason=str(reason), **extra)


async def do_link_conversation(
    session: AsyncSession,
    account_id: int,
    ticket_id: int,
    conversation_id: int,
    actor: Actor,
    scope: TicketScope | None = None,
) -> Ticket:
    ticket = await get_ticket(session, account_id, ticket_id, scope)
    conv = await get_scoped(session, Conversation, conversation_id, account_id, "conversation")
    _check_not_closed(ticket, "get new conversations")
    if await session.get(TicketConversation, (ticket.id, conv.id)) is not None:
        raise Conflict(f"conversation {conv.id} is already linked to ticket #{ticket.number}")
    await link(session, ticket, conv, LinkReason.MANUAL, actor)
    await commit(session)
    return ticket


async def do_unlink_conversation(
    session: AsyncSession,
    account_id: int,
    ticket_id: int,
    conversation_id: int,
    actor: Actor,
    scope: TicketScope | None = None,
) -> Ticket:
    ticket = await get_ticket(session, account_id, ticket_id, scope)
    row = await session.get(TicketConversation, (ticket.id, conversation_id))
    if row is None:
        raise NotFound("linked conversation", conversation_id)
    await session.delete(row)
    ticket.updated_at = clock.now()
    record(session, ticket, "unlinked", actor, {"conversation_id": conversation_id})
    await _emit(session, ticket, EventType.TICKET_UPDATED, actor, changed=["conversations"], unlinked=conversation_id)
    await commit(session)
    return ticket


async def do_delete_ticket(session: AsyncSession, account_id: int, ticket_id: int, actor: Actor) -> None:
    """Delete a ticket with its timeline and links (supervisors and admins; the conversations stay). Its last
    event is ticket.status_changed to closed with `deleted: true`: its life ends (SLA clocks stop)."""
    ticket = await get_ticket(session, account_id, ticket_id)
    previous, ticket.status = ticket.status, str(TicketStatus.CLOSED)
    await _emit(session, ticket, EventType.TICKET_STATUS_CHANGED, actor, previous_status=previous, deleted=True)
    await session.delete(ticket)
    await commit(session)


async def tickets_of_conversation(session: AsyncSession, account_id: int, conversation_id: int) -> list[Ticket]:
    q = (
        select(Ticket)
        .join(TicketConversation, TicketConversation.ticket_id == Ticket.id)
        .where(TicketConversation.conversation_id == conversation_id, Ticket.account_id == account_id)
        .order_by(Ticket.id)
    )
    return list((await session.execute(q)).scalars())
