"""/api/v1/contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kefu.auth.deps import CanManageContacts
from kefu.contacts import service
from kefu.contacts.merge import do_merge_contacts, do_split_contact
from kefu.contacts.merge import list_merges as merges_of
from kefu.contacts.schemas import (
    ContactCreate,
    ContactDetail,
    ContactRead,
    ContactUpdate,
    IdentityAdded,
    IdentityCreate,
    IdentityRead,
    MergeIn,
    MergeRead,
    SplitIn,
)
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
    """The contact. For a contact merged into another, that other contact (its `id` differs from the one
    asked for: old ids keep working)."""
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


@router.get("/contacts/{contact_id}/identities", response_model=list[IdentityRead])
async def list_identities(contact_id: Id, session: SessionDep, principal: CanManageContacts) -> list[IdentityRead]:
    """How the channels know the contact: email, phone (E.164), WeChat openid / unionid, WeCom external
    userid, widget visitor id, external id."""
    contact = await service.get_contact(session, principal.account_id, contact_id)
    return [IdentityRead.model_validate(i) for i in await service.list_identities(session, contact)]


@router.post("/contacts/{contact_id}/identities", response_model=IdentityAdded, status_code=201)
async def add_identity(
    contact_id: Id, data: IdentityCreate, session: SessionDep, principal: CanManageContacts
) -> IdentityAdded:
    """Add an identity. A phone number is stored in E.164 (without a country code it is read as a
    Chinese number; an invalid one → 422). An identity another contact holds → 409 naming that contact,
    unless `"merge": true`: then that contact is merged into this one (see POST …/merge)."""
    contact = await service.get_contact(session, principal.account_id, contact_id)
    ident, merge_id = await service.check_add_identity(session, contact, data, principal.actor)
    return IdentityAdded(**IdentityRead.model_validate(ident).model_dump(), merge_id=merge_id)


@router.delete("/contacts/{contact_id}/identities/{identity_id}", status_code=204)
async def remove_identity(contact_id: Id, identity_id: Id, session: SessionDep, principal: CanManageContacts) -> None:
    contact = await service.get_contact(session, principal.account_id, contact_id)
    await service.do_remove_identity(session, contact, identity_id, principal.actor)


@router.post("/contacts/{contact_id}/merge", response_model=MergeRead)
async def merge_contact(contact_id: Id, data: MergeIn, session: SessionDep, principal: CanManageContacts) -> MergeRead:
    """Absorb contact `other_id` into this one: its conversations, identities, tickets and uploads move
    here, attributes are united (this contact's values win), and `other_id` is kept as merged (GET of
    its id answers with this contact). 409 when either was merged already; 422 for the same contact."""
    contact = await service.get_contact(session, principal.account_id, contact_id)
    merge = await do_merge_contacts(session, principal.account_id, contact.id, data.other_id, principal.actor)
    return MergeRead.model_validate(merge)


@router.post("/contacts/{contact_id}/split", response_model=MergeRead)
async def split_contact(contact_id: Id, data: SplitIn, session: SessionDep, principal: CanManageContacts) -> MergeRead:
    """Undo a merge into this contact: what it moved and this contact still has goes back to the absorbed
    contact; what happened since stays here. 409 for a merge undone already."""
    contact = await service.get_contact(session, principal.account_id, contact_id)
    return MergeRead.model_validate(
        await do_split_contact(session, principal.account_id, contact.id, data.merge_id, principal.actor)
    )


@router.get("/contacts/{contact_id}/merges", response_model=list[MergeRead])
async def list_merges(contact_id: Id, session: SessionDep, principal: CanManageContacts) -> list[MergeRead]:
    """The merges into this contact, newest first (undone ones have `split_at`)."""
    contact = await service.get_contact(session, principal.account_id, contact_id)
    return [MergeRead.model_validate(m) for m in await merges_of(session, contact)]
