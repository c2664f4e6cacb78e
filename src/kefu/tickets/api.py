"""/api/v1/tickets: tickets, status, notes, linked conversations, timeline; custom field definitions, saved
views, ticket settings and the repeat-contact rate (docs/api.md "Tickets"). Thin: parse, call the service,
shape the answer. The fixed paths come before /tickets/{ticket_id} so they are matched first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kefu.auth.deps import CanHandle, CanManageTeams
from kefu.core.constants import Priority
from kefu.core.deps import SessionDep
from kefu.core.errors import BadRequest
from kefu.core.openapi import errors
from kefu.core.pagination import MAX_LIMIT, Cursor, TimeCursorParam
from kefu.core.schemas import NO_NUL_PATTERN, Id, Page
from kefu.tickets import repeat, service, setup
from kefu.tickets.schemas import (
    ASSIGNEE_PATTERN,
    ActivityRead,
    FieldCreate,
    FieldRead,
    LinkIn,
    NoteIn,
    RepeatStats,
    StatusIn,
    TicketCreate,
    TicketRead,
    TicketSettings,
    TicketUpdate,
    ViewCreate,
    ViewFilters,
    ViewRead,
)
from kefu.tickets.states import TicketStatus

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

AssigneeQ = Annotated[str | None, Query(pattern=ASSIGNEE_PATTERN, description="me, unassigned or a user id")]


# ---- setup: custom fields, saved views, settings, stats ------------------------------------------------


@router.get("/fields", response_model=list[FieldRead])
async def list_fields(session: SessionDep, principal: CanHandle) -> list[FieldRead]:
    return [FieldRead.model_validate(f) for f in await setup.list_fields(session, principal.account_id)]


@router.post("/fields", response_model=FieldRead, status_code=201)
async def create_field(data: FieldCreate, session: SessionDep, principal: CanManageTeams) -> FieldRead:
    field = await setup.check_create_field(session, principal.account_id, data, principal.actor)
    return FieldRead.model_validate(field)


@router.delete("/fields/{field_id}", status_code=204)
async def delete_field(field_id: Id, session: SessionDep, principal: CanManageTeams) -> None:
    await setup.do_delete_field(session, principal.account_id, field_id, principal.actor)


@router.get("/views", response_model=list[ViewRead])
async def list_views(session: SessionDep, principal: CanHandle) -> list[ViewRead]:
    views = await setup.list_views(session, principal.account_id, principal.user.id)
    return [ViewRead.model_validate(v) for v in views]


@router.post("/views", response_model=ViewRead, status_code=201)
async def create_view(data: ViewCreate, session: SessionDep, principal: CanHandle) -> ViewRead:
    view = await setup.check_create_view(session, principal.account_id, principal.user.id, data)
    return ViewRead.model_validate(view)


@router.delete("/views/{view_id}", status_code=204)
async def delete_view(view_id: Id, session: SessionDep, principal: CanHandle) -> None:
    await setup.do_delete_view(session, principal.account_id, principal.user.id, view_id)


@router.get("/settings", response_model=TicketSettings)
async def get_settings(session: SessionDep, principal: CanHandle) -> TicketSettings:
    return await setup.get_settings(session, principal.account_id)


@router.put("/settings", response_model=TicketSettings)
async def put_settings(data: TicketSettings, session: SessionDep, principal: CanManageTeams) -> TicketSettings:
    return await setup.do_put_settings(session, principal.account_id, data, principal.actor)


@router.get("/stats/repeat_contacts", response_model=RepeatStats)
async def repeat_contact_stats(
    session: SessionDep, principal: CanHandle, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> RepeatStats:
    """Per day in the account's time zone: new conversations, repeat contacts among them, and the rate."""
    return await repeat.get_repeat_stats(session, principal.account_id, days)


# ---- tickets -------------------------------------------------------------------------------------------


@router.get("", response_model=Page[TicketRead], responses=errors(404))
async def list_tickets(
    session: SessionDep,
    principal: CanHandle,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL_PATTERN, description="subject, description, #number or contact"),
    ] = None,
    status: TicketStatus | None = None,
    priority: Priority | None = None,
    assignee: AssigneeQ = None,
    team_id: Id | None = None,
    contact_id: Id | None = None,
    view_id: Annotated[Id | None, Query(description="a saved view of yours: its filters, then these")] = None,
    cursor: TimeCursorParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
) -> Page[TicketRead]:
    given: dict[str, object] = {"q": q, "status": status, "priority": priority, "assignee": assignee}
    given |= {"team_id": team_id, "contact_id": contact_id}
    stored: dict[str, object] = {}
    if view_id is not None:
        stored = (await setup.get_view(session, principal.account_id, principal.user.id, view_id)).filters
    filters = ViewFilters.model_validate({**stored, **{k: v for k, v in given.items() if v is not None}})
    rows, nxt = await service.list_tickets(
        session,
        principal.account_id,
        filters,
        me_id=principal.user.id,
        scope=service.scope_of(principal),
        cursor=Cursor.decode(cursor),
        limit=limit,
    )
    items = await service.read_tickets(session, rows)
    return Page(items=items, next_cursor=nxt.encode() if nxt else None)


@router.post("", response_model=TicketRead, status_code=201)
async def create_ticket(data: TicketCreate, session: SessionDep, principal: CanHandle) -> TicketRead:
    source = "api" if principal.via == "token" else "agent"
    ticket = await service.check_create_ticket(session, principal.account_id, data, principal.actor, source=source)
    return await service.read_ticket(session, ticket)


@router.get("/{ticket_id}", response_model=TicketRead)
async def get_ticket(ticket_id: Id, session: SessionDep, principal: CanHandle) -> TicketRead:
    ticket = await service.get_ticket(session, principal.account_id, ticket_id, service.scope_of(principal))
    return await service.read_ticket(session, ticket)


@router.patch("/{ticket_id}", response_model=TicketRead)
async def update_ticket(ticket_id: Id, data: TicketUpdate, session: SessionDep, principal: CanHandle) -> TicketRead:
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise BadRequest(
            "nothing to change: send subject, description, priority, contact_id, assignee_id, team_id or custom_fields"
        )
    ticket = await service.check_update_ticket(
        session, principal.account_id, ticket_id, changes, principal.actor, service.scope_of(principal)
    )
    return await service.read_ticket(session, ticket)


@router.delete("/{ticket_id}", status_code=204)
async def delete_ticket(ticket_id: Id, session: SessionDep, principal: CanManageTeams) -> None:
    """Supervisors and admins: the ticket, its timeline and its links go; the conversations stay."""
    await service.do_delete_ticket(session, principal.account_id, ticket_id, principal.actor)


@router.post("/{ticket_id}/status", response_model=TicketRead)
async def change_status(ticket_id: Id, data: StatusIn, session: SessionDep, principal: CanHandle) -> TicketRead:
    """409 when the lifecycle does not allow it (details: from, to, allowed)."""
    ticket = await service.do_change_status(
        session, principal.account_id, ticket_id, data.status, principal.actor, service.scope_of(principal)
    )
    return await service.read_ticket(session, ticket)


@router.get("/{ticket_id}/timeline", response_model=list[ActivityRead])
async def timeline(ticket_id: Id, session: SessionDep, principal: CanHandle) -> list[ActivityRead]:
    ticket = await service.get_ticket(session, principal.account_id, ticket_id, service.scope_of(principal))
    return [ActivityRead.model_validate(a) for a in await service.list_activities(session, ticket)]


@router.get("/{ticket_id}/notes", response_model=list[ActivityRead])
async def list_notes(ticket_id: Id, session: SessionDep, principal: CanHandle) -> list[ActivityRead]:
    ticket = await service.get_ticket(session, principal.account_id, ticket_id, service.scope_of(principal))
    return [ActivityRead.model_validate(a) for a in await service.list_activities(session, ticket, notes_only=True)]


@router.post("/{ticket_id}/notes", response_model=ActivityRead, status_code=201)
async def add_note(ticket_id: Id, data: NoteIn, session: SessionDep, principal: CanHandle) -> ActivityRead:
    note = await service.do_add_note(
        session, principal.account_id, ticket_id, data.body, principal.actor, service.scope_of(principal)
    )
    return ActivityRead.model_validate(note)


@router.post("/{ticket_id}/conversations", response_model=TicketRead)
async def link_conversation(ticket_id: Id, data: LinkIn, session: SessionDep, principal: CanHandle) -> TicketRead:
    ticket = await service.do_link_conversation(
        session, principal.account_id, ticket_id, data.conversation_id, principal.actor, service.scope_of(principal)
    )
    return await service.read_ticket(session, ticket)


@router.delete("/{ticket_id}/conversations/{conv_id}", response_model=TicketRead)
async def unlink_conversation(ticket_id: Id, conv_id: Id, session: SessionDep, principal: CanHandle) -> TicketRead:
    ticket = await service.do_unlink_conversation(
        session, principal.account_id, ticket_id, conv_id, principal.actor, service.scope_of(principal)
    )
    return await service.read_ticket(session, ticket)
