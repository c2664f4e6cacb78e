"""/app/contacts/{id} — the 360° customer profile (docs/customers.md#the-profile-page): every conversation on
every channel in one timeline with channel badges, tickets, satisfaction, tier / segment with reasons,
custom attributes, identities (add / remove), merge with another contact (search) and split from the
merge history. Agents see it (handle conversations); the changes need manage-contacts. The profile of a
merged contact redirects to the kept one. Forms post back and redirect (303) to the page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.deps import CanHandle, CanManageContacts
from kefu.auth.principal import Principal
from kefu.channels.service import list_inboxes
from kefu.contacts import service as contacts
from kefu.contacts.merge import do_merge_contacts, do_split_contact, list_merges
from kefu.contacts.schemas import IdentityCreate
from kefu.conversations import service as convs
from kefu.conversations.models import Message
from kefu.core.constants import IdentityKind
from kefu.core.deps import SessionDep
from kefu.core.errors import BadRequest
from kefu.tickets.models import Ticket
from kefu.web.rendering import PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)
TIMELINE_LIMIT = 300
CONVERSATIONS_LIMIT = 100


def _back(contact_id: int, **flags: str) -> Response:
    query = "&".join(f"{k}={v}" for k, v in flags.items())
    return RedirectResponse(f"/app/contacts/{contact_id}" + (f"?{query}" if query else ""), status_code=303)


async def _profile(session: AsyncSession, principal: Principal, contact_id: int) -> dict[str, Any]:
    contact = await contacts.get_contact(session, principal.account_id, contact_id)
    rows, _ = await convs.list_conversations(
        session,
        principal.account_id,
        status="all",
        assignee=None,
        team_id=None,
        label=None,
        inbox_id=None,
        contact_id=contact.id,
        me_id=principal.user.id,
        cursor=None,
        limit=CONVERSATIONS_LIMIT,
    )
    conversations = await convs.read_conversations(session, rows)
    conv_ids = [c.id for c in conversations]
    timeline: list[Message] = []
    if conv_ids:
        q = select(Message).where(Message.conversation_id.in_(conv_ids)).order_by(Message.id.desc())
        timeline = list(reversed((await session.execute(q.limit(TIMELINE_LIMIT))).scalars().all()))
    tickets = (
        await session.execute(
            select(Ticket)
            .where(Ticket.account_id == principal.account_id, Ticket.contact_id == contact.id)
            .order_by(Ticket.id.desc())
        )
    ).scalars()
    inboxes = await list_inboxes(session, principal.account_id)
    return {
        "contact": contact,
        "identities": await contacts.list_identities(session, contact),
        "merges": await list_merges(session, contact),
        "conversations": conversations,
        "conv_inbox": {c.id: c.inbox_id for c in conversations},
        "timeline": timeline,
        "tickets": list(tickets),
        "inbox_names": {i.id: i.name for i in inboxes},
        "inbox_kinds": {i.id: i.channel_type for i in inboxes},
        "identity_kinds": list(IdentityKind),
        "candidates": [],
        "q": "",
    }


@router.get("/app/contacts/{contact_id}")
async def profile(
    request: Request,
    contact_id: int,
    session: SessionDep,
    principal: CanHandle,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    context = await _profile(session, principal, contact_id)
    if context["contact"].id != contact_id:  # merged into another contact: show that one
        return RedirectResponse(f"/app/contacts/{context['contact'].id}", status_code=303)
    if q.strip():
        found, _ = await contacts.list_contacts(session, principal.account_id, q=q.strip(), cursor=None, limit=20)
        context["candidates"] = [c for c in found if c.id != contact_id]
        context["q"] = q
    context["done"] = request.query_params.get("done", "")
    return page(request, "app/contact.html", context)


@router.post("/app/contacts/{contact_id}/identities")
async def add_identity(
    request: Request,
    contact_id: int,
    session: SessionDep,
    principal: CanManageContacts,
    kind: Annotated[str, Form()] = "",
    value: Annotated[str, Form(max_length=254)] = "",
    merge: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = IdentityCreate.model_validate({"kind": kind, "value": value, "merge": merge == "1"})
    except ValidationError:
        raise BadRequest(t(request, "Choose a kind and write the identity.")) from None
    contact = await contacts.get_contact(session, principal.account_id, contact_id)
    await contacts.check_add_identity(session, contact, data, principal.actor)
    return _back(contact.id, done="identity")


@router.post("/app/contacts/{contact_id}/identities/{identity_id}/remove")
async def remove_identity(
    contact_id: int, identity_id: int, session: SessionDep, principal: CanManageContacts
) -> Response:
    contact = await contacts.get_contact(session, principal.account_id, contact_id)
    await contacts.do_remove_identity(session, contact, identity_id, principal.actor)
    return _back(contact.id, done="removed")


@router.post("/app/contacts/{contact_id}/merge")
async def merge(
    contact_id: int, session: SessionDep, principal: CanManageContacts, other_id: Annotated[int, Form()]
) -> Response:
    contact = await contacts.get_contact(session, principal.account_id, contact_id)
    await do_merge_contacts(session, principal.account_id, contact.id, other_id, principal.actor)
    return _back(contact.id, done="merged")


@router.post("/app/contacts/{contact_id}/split")
async def split(
    contact_id: int, session: SessionDep, principal: CanManageContacts, merge_id: Annotated[int, Form()]
) -> Response:
    contact = await contacts.get_contact(session, principal.account_id, contact_id)
    await do_split_contact(session, principal.account_id, contact.id, merge_id, principal.actor)
    return _back(contact.id, done="split")
