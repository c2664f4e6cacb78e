"""The signed customer level (channels/widget/identity.py): the widget's identify call, and the inbox's
identity secret for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from kefu.auth.deps import CanManageInboxes
from kefu.channels.service import get_inbox
from kefu.channels.widget import service
from kefu.channels.widget.identity import (
    SignedLevel,
    VerifiedIdentity,
    do_set_signed_level,
    do_verify_identity,
    identity_secret,
)
from kefu.core.constants import ChannelType, ContactTier
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import NotFound
from kefu.core.schemas import Id

widget = APIRouter(prefix="/api/v1/widget", tags=["widget"])
admins = APIRouter(prefix="/api/v1", tags=["inboxes"])
ContactToken = Annotated[str | None, Header(alias="X-Contact-Token")]


class Identified(BaseModel):
    contact_id: int
    tier: ContactTier


class Verified(BaseModel):
    contact_id: int = Field(description="the contact the visitor is now (another one when it was merged)")
    merged: bool = Field(description="true when the visitor's contact was merged into one the identity named")


class IdentitySecret(BaseModel):
    inbox_id: int
    secret: str = Field(
        description="sign user_id:level, and user_id/email/phone for a verified identity, with it (HMAC-SHA256, "
        "hex) on your server; keep it there"
    )


@widget.post("/{inbox_key}/identify", response_model=Identified)
async def identify(
    inbox_key: str, data: SignedLevel, session: SessionDep, state: StateDep, token: ContactToken = None
) -> Identified:
    """Set the visitor's level (normal, vip, gold) from the site's signed snippet. 401 for a missing,
    forged or foreign contact token, or a signature that does not match (nothing changes)."""
    inbox = await service.get_widget_inbox(session, inbox_key)
    contact = await service.authenticate_visitor(session, inbox, state.settings, token)
    contact = await do_set_signed_level(session, inbox, contact, state.settings.secret_key, data)
    return Identified(contact_id=contact.id, tier=ContactTier(contact.tier))


@widget.post("/{inbox_key}/identity", response_model=Verified)
async def verify_identity(
    inbox_key: str, data: VerifiedIdentity, session: SessionDep, state: StateDep, token: ContactToken = None
) -> Verified:
    """The site's signed user (user_id, email, phone, identifier_hash = hex HMAC-SHA256 of the three, one
    per line, with the inbox's identity secret). A contact already holding one of these identifiers
    absorbs the visitor's contact (the visitor's token then stands for it). 401 for a bad hash or token:
    nothing changes. See docs/customers.md#verified-identity."""
    inbox = await service.get_widget_inbox(session, inbox_key)
    contact = await service.authenticate_visitor(session, inbox, state.settings, token)
    before = contact.id
    kept, _ = await do_verify_identity(session, inbox, contact, state.settings.secret_key, data)
    return Verified(contact_id=kept.id, merged=kept.id != before)


@admins.get("/inboxes/{inbox_id}/identity_secret", response_model=IdentitySecret)
async def get_identity_secret(
    inbox_id: Id, session: SessionDep, state: StateDep, principal: CanManageInboxes
) -> IdentitySecret:
    """The secret a site signs customer levels with, for a widget inbox of the account."""
    inbox = await get_inbox(session, principal.account_id, inbox_id)
    if inbox.channel_type != ChannelType.WEB_WIDGET:
        raise NotFound("widget inbox", inbox_id)
    return IdentitySecret(inbox_id=inbox.id, secret=identity_secret(state.settings.secret_key, inbox))
