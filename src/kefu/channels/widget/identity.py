"""A customer level passed, signed, from the site's widget snippet (as 七鱼's SDK passes a VIP level).

The site's server signs `"{user_id}:{level}"` with the inbox's identity secret (HMAC-SHA256, hex) and puts
`data-user-id`, `data-level` and `data-signature` on the widget snippet; the widget sends them with the
visitor's token to `POST /api/v1/widget/{key}/identify`. A genuine signature sets the contact's level
(`contacts.tier`: normal, vip or gold) and remembers the site's user id (`attributes.external_id`); a
missing or wrong signature is refused (401) and changes nothing. The secret is derived from the server's
secret and the inbox key (an admin reads it on the inbox's page or from the API), so nothing is stored."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import Inbox
from kefu.contacts.merge import do_merge_contacts
from kefu.contacts.models import Contact
from kefu.contacts.schemas import ContactRead, ContactUpdate
from kefu.contacts.service import (
    do_add_identity,
    do_update_contact,
    find_contact_by_identity,
    get_contact,
    normalized_identity,
)
from kefu.core.constants import ActorType, ContactTier, EventType, IdentityKind, MergeReason
from kefu.core.errors import Unauthorized
from kefu.core.events import Actor, commit, emit
from kefu.core.schemas import StrictModel

SIGNED_LEVELS = (ContactTier.NORMAL, ContactTier.VIP, ContactTier.GOLD)
BAD_SIGNATURE = "the level's signature does not match; sign user_id:level with the inbox's identity secret"


def identity_secret(server_secret: str, inbox: Inbox) -> str:
    """The inbox's identity secret (hex): HMAC-SHA256 of its public key under the server's secret."""
    msg = f"kefu-widget-identity:{inbox.public_key}".encode()
    return hmac.new(server_secret.encode(), msg, hashlib.sha256).hexdigest()


def sign_level(secret: str, user_id: str, level: str) -> str:
    """What the site's server computes (shown here so tests and docs use the one definition)."""
    return hmac.new(secret.encode(), f"{user_id}:{level}".encode(), hashlib.sha256).hexdigest()


def check_level_signature(secret: str, user_id: str, level: str, signature: str | None) -> None:
    """401 unless `signature` is the inbox's signature of `user_id:level` (compared in constant time)."""
    if not signature or not hmac.compare_digest(sign_level(secret, user_id, level), signature.strip().lower()):
        raise Unauthorized(BAD_SIGNATURE)


async def do_set_signed_level(
    session: AsyncSession, inbox: Inbox, contact: Contact, server_secret: str, data: SignedLevel
) -> Contact:
    """Check the signature, then set the contact's level and external id (one transaction, `contact.updated`)."""
    check_level_signature(identity_secret(server_secret, inbox), data.user_id, str(data.level), data.signature)
    attributes = {**(contact.attributes or {}), "external_id": data.user_id}
    update = ContactUpdate(tier=data.level, attributes=attributes)
    return await do_update_contact(session, contact, update, Actor(ActorType.CONTACT, contact.id))


class SignedLevel(StrictModel):
    user_id: str = Field(min_length=1, max_length=128, description="the site's own id of this customer")
    level: Literal[ContactTier.NORMAL, ContactTier.VIP, ContactTier.GOLD] = Field(description="normal, vip or gold")
    signature: str = Field(min_length=1, max_length=128, description="hex HMAC-SHA256 of user_id:level")


# ---- verified identity (docs/customers.md#verified-identity) ------------------------------------------

BAD_IDENTITY_HASH = (
    "identifier_hash does not match; sign user_id, email and phone (one per line) with the inbox's identity secret"
)


def identity_string(user_id: str, email: str | None, phone: str | None) -> str:
    """What the site signs: `user_id`, `email` and `phone` as sent, one per line (empty when absent)."""
    return f"{user_id}\n{email or ''}\n{phone or ''}"


def sign_identity(secret: str, user_id: str, email: str | None = None, phone: str | None = None) -> str:
    """The site's server computes this (hex HMAC-SHA256); the one definition tests and docs use."""
    msg = identity_string(user_id, email, phone).encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


class VerifiedIdentity(StrictModel):
    user_id: str = Field(min_length=1, max_length=128, pattern=r"^[^\r\n]+$", description="the site's id of the user")
    email: str | None = Field(None, max_length=254, pattern=r"^[^\r\n]*$")
    phone: str | None = Field(None, max_length=40, pattern=r"^[^\r\n]*$")
    identifier_hash: str = Field(
        min_length=1, max_length=128, description='hex HMAC-SHA256 of "{user_id}\\n{email}\\n{phone}"'
    )


async def do_verify_identity(
    session: AsyncSession, inbox: Inbox, contact: Contact, server_secret: str, data: VerifiedIdentity
) -> tuple[Contact, list[int]]:
    """Check the hash (401, nothing changed, when it does not match), then make the visitor's contact the
    one these identifiers name: the first other contact holding one of them (external id, then email,
    then phone) keeps, the visitor's contact — and any other holder — is merged into it; the identifiers
    it lacks are added. Returns the contact the visitor now is and the merges made. Commits."""
    expected = sign_identity(identity_secret(server_secret, inbox), data.user_id, data.email, data.phone)
    if not hmac.compare_digest(expected, data.identifier_hash.strip().lower()):
        raise Unauthorized(BAD_IDENTITY_HASH)
    wanted = [(IdentityKind.EXTERNAL_ID, data.user_id.strip())]
    if data.email and data.email.strip():
        wanted.append((IdentityKind.EMAIL, normalized_identity(IdentityKind.EMAIL, data.email)))
    if data.phone and data.phone.strip():
        wanted.append((IdentityKind.PHONE, normalized_identity(IdentityKind.PHONE, data.phone)))
    account_id, actor = contact.account_id, Actor(ActorType.CONTACT, contact.id)
    holders: list[int] = []
    for kind, value in wanted:
        holder = await find_contact_by_identity(session, account_id, kind, value)
        if holder is not None and holder.id not in holders:
            holders.append(holder.id)
    kept_id = next((h for h in holders if h != contact.id), contact.id)
    merges: list[int] = []
    for other in [contact.id, *holders]:
        if other != kept_id and other not in merges:
            merge = await do_merge_contacts(
                session, account_id, kept_id, other, actor, reason=MergeReason.VERIFIED, commit_now=False
            )
            merges.append(merge.id)
    kept = await get_contact(session, account_id, kept_id)
    for kind, value in wanted:
        if await find_contact_by_identity(session, account_id, kind, value) is None:
            await do_add_identity(session, kept, kind, value, inbox.id)
            if kind == IdentityKind.EMAIL and not kept.email:
                kept.email = value
            elif kind == IdentityKind.PHONE and not kept.phone:
                kept.phone = value
    kept.attributes = {**(kept.attributes or {}), "external_id": data.user_id.strip()}
    await session.flush()
    emit(session, account_id, EventType.CONTACT_UPDATED, _read(kept), actor=actor, contact_id=kept.id)
    await commit(session)
    return kept, merges


def _read(contact: Contact) -> dict[str, object]:
    return ContactRead.model_validate(contact).model_dump(mode="json")
