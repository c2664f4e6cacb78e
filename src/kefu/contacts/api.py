"""/api/v1/contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kefu.auth.deps import CanManageContacts
from kefu.contacts import service
from kefu.contacts.schemas import ContactCreate, ContactDetail, ContactRead, ContactUpdate, IdentityRead
from kefu.core.deps import SessionDep
from kefu.core.pagination import MAX_LIMIT, Cursor, CursorParam
from kefu.core.schemas import Id, Page

router = APIRouter(prefix="/api/v1", tags=["contacts"])


@router.get("/contacts", response_model=Page[ContactRead])
async def list_contacts(
    session: SessionDep,
    principal: CanManageContacts,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
) -> Page[ContactRead]:
    rows, nxt = await service.list_contacts(
        session, principal.account_id, q=q, cursor=Cursor.decode(cursor), limit=limit
    )
    return Page(items=[ContactRead.model_validate(c) for c in rows], next_cursor=nxt.encode() if nxt else None)


@router.post("/contacts", response_model=ContactRead, status_code=201)
async def create_contact(data: ContactCreate, session: SessionDep, principal: CanManageContacts) -> ContactRead:
    return ContactRead.model_validate(
        await service.do_create_contact(session, principal.account_id, data, principal.actor)
    )


@router.get("/contacts/{contact_id}", response_model=ContactDetail)
async def get_contact(contact_id: Id, session: SessionDep, principal: CanManageContacts) -> ContactDetail:
    contact = await service.get_contact(session, principal.account_id, contact_id)
    idents = await service.list_identities(session, contact)
    return ContactDetail(
        **ContactRead.model_validate(contact).model_dump(), identities=[IdentityRead.model_validate(i) for i in idents]
    )


@router.patch("/contacts/{contact_id}", response_model=ContactRead)
async def update_contact(
    contact_id: Id, data: ContactUpdate, session: SessionDep, principal: CanManageContacts
) -> ContactRead:
    contact = await service.get_contact(session, principal.account_id, contact_id)
    return ContactRead.model_validate(await service.do_update_contact(session, contact, data, principal.actor))
