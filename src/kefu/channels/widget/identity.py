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
from kefu.contacts.models import Contact
from kefu.contacts.schemas import ContactUpdate
from kefu.contacts.service import do_update_contact
from kefu.core.constants import ActorType, ContactTier
from kefu.core.errors import Unauthorized
from kefu.core.events import Actor
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
