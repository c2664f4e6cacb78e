"""Tickets UI: /app/tickets (list, search, saved views, the repeat-contact chart, a new ticket),
/app/tickets/{id} (detail: status, fields, custom fields, notes, linked conversations, timeline), the
workspace's "Create ticket" (/app/tickets/from/{conv_id}) and /admin/tickets/fields (custom field
definitions and the repeat-contact window).

Thin like every UI route: parse the form, call kefu.tickets' services, redirect (303) after a change; a
refused change renders the error page with the service's message."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.service import list_teams
from kefu.auth.deps import CanHandle, CanManageTeams
from kefu.auth.principal import Principal
from kefu.auth.service import list_users
from kefu.contacts.service import get_contact
from kefu.core.deps import SessionDep
from kefu.core.errors import BadRequest
from kefu.core.pagination import Cursor
from kefu.tickets import repeat, service, setup
from kefu.tickets.chart import rate_bars
from kefu.tickets.schemas import (
    FieldCreate,
    NoteIn,
    TicketCreate,
    TicketSettings,
    TicketUpdate,
    ViewCreate,
    ViewFilters,
)
from kefu.tickets.states import TicketStatus, next_statuses
from kefu.web.rendering import PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
CHART_DAYS = 14
FILTER_KEYS = ("q", "status", "priority", "assignee")


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _problem(request: Request, exc: ValidationError) -> BadRequest:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return BadRequest(t(request, "Please correct the form: %(details)s", details="; ".join(parts)))


def _filters(request: Request, params: dict[str, str]) -> ViewFilters:
    try:
        return ViewFilters.model_validate({k: v for k, v in params.items() if k in FILTER_KEYS and v})
    except ValidationError as exc:
        raise _problem(request, exc) from None


async def _people(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    users = await list_users(session, principal.account_id)
    teams = await list_teams(session, principal.account_id)
    return {
        "users": {u.id: u for u in users},
        "agents": [u for u in users if u.is_active],
        "teams": teams,
        "team_names": {tm.id: tm.name for tm in teams},
    }


# ---- list ----------------------------------------------------------------------------------------------


@router.get("/app/tickets")
async def ticket_list(
    request: Request,
    session: SessionDep,
    principal: CanHandle,
    view: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    params = dict(request.query_params)
    views = await setup.list_views(session, principal.account_id, principal.user.id)
    if view is not None:
        stored = await setup.get_view(session, principal.account_id, principal.user.id, view)
        params = {**{k: str(v) for k, v in stored.filters.items()}, **{k: v for k, v in params.items() if v}}
    filters = _filters(request, params)
    rows, nxt = await service.list_tickets(
        session,
        principal.account_id,
        filters,
        me_id=principal.user.id,
        scope=service.scope_of(principal),
        cursor=Cursor.decode(cursor),
        limit=PAGE_SIZE,
    )
    stats = await repeat.get_repeat_stats(session, principal.account_id, CHART_DAYS)
    tickets = await service.read_tickets(session, rows)
    context = {
        "tickets": tickets,
        "contact_names": await service.contact_names(session, principal.account_id, tickets),
        "next_cursor": nxt.encode() if nxt else None,
        "filters": filters,
        "views": views,
        "view": view,
        "statuses": list(TicketStatus),
        "stats": stats,
        "bars": rate_bars(stats.days),
    }
    context.update(await _people(session, principal))
    return page(request, "tickets/list.html", context)


@router.post("/app/tickets")
async def create_ticket(
    request: Request,
    session: SessionDep,
    principal: CanHandle,
    subject: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=20_000)] = "",
    priority: Annotated[str, Form(max_length=4)] = "p3",
) -> Response:
    try:
        data = TicketCreate.model_validate({"subject": subject, "description": description, "priority": priority})
    except ValidationError as exc:
        raise _problem(request, exc) from None
    ticket = await service.check_create_ticket(session, principal.account_id, data, principal.actor, fields=False)
    return _redirect(f"/app/tickets/{ticket.id}")


@router.post("/app/tickets/from/{conv_id}")
async def create_from_conversation(
    request: Request,
    conv_id: int,
    session: SessionDep,
    principal: CanHandle,
    subject: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The workspace's "Create ticket": from the conversation, its contact, priority and team."""
    try:
        data = TicketCreate.model_validate({"subject": subject, "conversation_id": conv_id})
    except ValidationError as exc:
        raise _problem(request, exc) from None
    ticket = await service.check_create_ticket(session, principal.account_id, data, principal.actor, fields=False)
    return _redirect(f"/app/tickets/{ticket.id}")


@router.post("/app/tickets/views")
async def save_view(
    request: Request,
    session: SessionDep,
    principal: CanHandle,
    name: Annotated[str, Form(max_length=200)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
    status: Annotated[str, Form(max_length=16)] = "",
    priority: Annotated[str, Form(max_length=4)] = "",
    assignee: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    filters = _filters(request, {"q": q, "status": status, "priority": priority, "assignee": assignee})
    try:
        data = ViewCreate(name=name, filters=filters)
    except ValidationError as exc:
        raise _problem(request, exc) from None
    view = await setup.check_create_view(session, principal.account_id, principal.user.id, data)
    return _redirect(f"/app/tickets?view={view.id}")


@router.post("/app/tickets/views/{view_id}/delete")
async def delete_view(view_id: int, session: SessionDep, principal: CanHandle) -> Response:
    await setup.do_delete_view(session, principal.account_id, principal.user.id, view_id)
    return _redirect("/app/tickets")


# ---- detail --------------------------------------------------------------------------------------------


@router.get("/app/tickets/{ticket_id}")
async def ticket_detail(request: Request, ticket_id: int, session: SessionDep, principal: CanHandle) -> Response:
    ticket = await service.get_ticket(session, principal.account_id, ticket_id, service.scope_of(principal))
    contact = await get_contact(session, principal.account_id, ticket.contact_id) if ticket.contact_id else None
    context = {
        "ticket": await service.read_ticket(session, ticket),
        "contact": contact,
        "next_statuses": next_statuses(ticket.status),
        "activities": await service.list_activities(session, ticket),
        "fields": await setup.list_fields(session, principal.account_id),
    }
    context.update(await _people(session, principal))
    return page(request, "tickets/detail.html", context)


def _custom_value(raw: str, kind: str) -> str | int | float | None:
    """A form's text as the field's JSON value: empty clears it; a number field takes 12 or 12.5."""
    text = raw.strip()
    if not text:
        return None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text  # refused by the definitions' check with its message
        return int(number) if number.is_integer() and "." not in text else number
    return text


@router.post("/app/tickets/{ticket_id}")
async def update_ticket(request: Request, ticket_id: int, session: SessionDep, principal: CanHandle) -> Response:
    form = await request.form()
    scope = service.scope_of(principal)
    await service.get_ticket(session, principal.account_id, ticket_id, scope)
    changes: dict[str, Any] = {}
    for key in ("subject", "priority"):
        if isinstance(value := form.get(key), str) and value:
            changes[key] = value
    if isinstance(description := form.get("description"), str):
        changes["description"] = description.replace("\r\n", "\n")
    for key in ("assignee_id", "team_id"):
        if isinstance(value := form.get(key), str):
            changes[key] = int(value) if value.isascii() and value.isdigit() else None
    fields = await setup.list_fields(session, principal.account_id)
    custom = {f.key: _custom_value(str(form.get(f"cf_{f.key}", "")), f.type) for f in fields if f"cf_{f.key}" in form}
    if custom:
        changes["custom_fields"] = custom
    if "subject" in changes and not changes["subject"].strip():
        raise BadRequest(t(request, "A ticket needs a subject."))
    try:
        checked = TicketUpdate.model_validate(changes).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise _problem(request, exc) from None
    await service.check_update_ticket(session, principal.account_id, ticket_id, checked, principal.actor, scope)
    return _redirect(f"/app/tickets/{ticket_id}")


@router.post("/app/tickets/{ticket_id}/delete")
async def delete_ticket(ticket_id: int, session: SessionDep, principal: CanManageTeams) -> Response:
    await service.do_delete_ticket(session, principal.account_id, ticket_id, principal.actor)
    return _redirect("/app/tickets")


@router.post("/app/tickets/{ticket_id}/status")
async def change_status(
    ticket_id: int, session: SessionDep, principal: CanHandle, status: Annotated[TicketStatus, Form()]
) -> Response:
    scope = service.scope_of(principal)
    await service.do_change_status(session, principal.account_id, ticket_id, status, principal.actor, scope)
    return _redirect(f"/app/tickets/{ticket_id}")


@router.post("/app/tickets/{ticket_id}/notes")
async def add_note(
    request: Request,
    ticket_id: int,
    session: SessionDep,
    principal: CanHandle,
    body: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    try:
        data = NoteIn(body=body)
    except ValidationError:
        raise BadRequest(t(request, "Write a note first.")) from None
    scope = service.scope_of(principal)
    await service.do_add_note(session, principal.account_id, ticket_id, data.body, principal.actor, scope)
    return _redirect(f"/app/tickets/{ticket_id}#timeline")


@router.post("/app/tickets/{ticket_id}/links")
async def link_conversation(
    ticket_id: int,
    session: SessionDep,
    principal: CanHandle,
    conversation_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
) -> Response:
    scope = service.scope_of(principal)
    await service.do_link_conversation(
        session, principal.account_id, ticket_id, conversation_id, principal.actor, scope
    )
    return _redirect(f"/app/tickets/{ticket_id}")


@router.post("/app/tickets/{ticket_id}/links/{conv_id}/delete")
async def unlink_conversation(ticket_id: int, conv_id: int, session: SessionDep, principal: CanHandle) -> Response:
    scope = service.scope_of(principal)
    await service.do_unlink_conversation(session, principal.account_id, ticket_id, conv_id, principal.actor, scope)
    return _redirect(f"/app/tickets/{ticket_id}")


# ---- admin: custom fields and the repeat window --------------------------------------------------------


@router.get("/admin/tickets/fields")
async def fields_page(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    context = {
        "section": "tickets",
        "fields": await setup.list_fields(session, principal.account_id),
        "settings": await setup.get_settings(session, principal.account_id),
        "saved": request.query_params.get("saved") == "1",
    }
    return page(request, "tickets/fields.html", context)


@router.post("/admin/tickets/fields")
async def create_field(
    request: Request,
    session: SessionDep,
    principal: CanManageTeams,
    key: Annotated[str, Form(max_length=200)] = "",
    label: Annotated[str, Form(max_length=200)] = "",
    type: Annotated[str, Form(max_length=10)] = "text",
    options: Annotated[str, Form(max_length=5000)] = "",
    required: Annotated[bool, Form()] = False,
) -> Response:
    choices = [o.strip() for o in options.replace("，", ",").split(",") if o.strip()]
    try:
        data = FieldCreate.model_validate(
            {"key": key.strip(), "label": label, "type": type, "options": choices, "required": required}
        )
    except ValidationError as exc:
        raise _problem(request, exc) from None
    await setup.check_create_field(session, principal.account_id, data, principal.actor)
    return _redirect("/admin/tickets/fields?saved=1")


@router.post("/admin/tickets/fields/{field_id}/delete")
async def delete_field(field_id: int, session: SessionDep, principal: CanManageTeams) -> Response:
    await setup.do_delete_field(session, principal.account_id, field_id, principal.actor)
    return _redirect("/admin/tickets/fields?saved=1")


@router.post("/admin/tickets/settings")
async def save_settings(
    request: Request,
    session: SessionDep,
    principal: CanManageTeams,
    repeat_window_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    days = repeat_window_days.strip()
    if not (days.isascii() and days.isdigit() and 1 <= int(days) <= 90):
        raise BadRequest(t(request, "The repeat-contact window is 1 to 90 days."))
    await setup.do_put_settings(
        session, principal.account_id, TicketSettings(repeat_window_days=int(days)), principal.actor
    )
    return _redirect("/admin/tickets/fields?saved=1")
