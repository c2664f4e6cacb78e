"""The contact an API channel's request names: by external id, then email, then phone (E.164), the first
that is known; a new contact with the first given identity otherwise. The other given identities are
added to that contact when no other contact has them (no merge happens here)."""

from __future__ import annotations

import phonenumbers
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.api_channel.schemas import ContactIn
from kefu.contacts.models import ContactIdentity
from kefu.contacts.service import do_contact_for_identity, find_contact_by_identity, normalized_identity
from kefu.core.constants import IdentityKind
from kefu.core.events import commit

DEFAULT_REGION = "CN"  # a number without a country code is read as a mainland China number


def e164(raw: str, where: tuple[str, ...]) -> str:
    """`raw` as E.164; a 422 at `where` when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        msg = f"{raw!r} is not a valid phone number"
        raise RequestValidationError([{"type": "value_error", "loc": ("body", *where), "msg": msg, "input": raw}])
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def identities(contact: ContactIn | None, phone: str | None = None) -> list[tuple[IdentityKind, str]]:
    """The (kind, value) pairs a request names, strongest first; `phone` (a checked E.164) replaces the
    contact's own phone (a call's customer number)."""
    pairs: list[tuple[IdentityKind, str]] = []
    if contact is not None and contact.external_id:
        pairs.append((IdentityKind.EXTERNAL_ID, contact.external_id))
    if contact is not None and contact.email:
        pairs.append((IdentityKind.EMAIL, str(contact.email)))
    if phone is None and contact is not None and contact.phone:
        phone = e164(contact.phone, ("contact", "phone"))
    if phone:
        pairs.append((IdentityKind.PHONE, phone))
    return pairs


async def contact_for(
    session: AsyncSession, account_id: int, inbox_id: int, pairs: list[tuple[IdentityKind, str]], name: str
) -> int:
    """The id of the contact the identities name (created when none is known)."""
    contact = None
    for kind, value in pairs:
        contact = await find_contact_by_identity(session, account_id, kind, value)
        if contact is not None:
            break
    if contact is None:
        kind, value = pairs[0]
        contact, _ = await do_contact_for_identity(session, account_id, kind, value, name=name, inbox_id=inbox_id)
    contact_id = contact.id
    added = False
    for kind, value in pairs:
        if await find_contact_by_identity(session, account_id, kind, value) is not None:
            continue
        try:
            async with session.begin_nested():
                stored = normalized_identity(kind, value)
                session.add(
                    ContactIdentity(
                        account_id=account_id, contact_id=contact_id, kind=str(kind), value=stored, inbox_id=inbox_id
                    )
                )
                await session.flush()
                added = True
        except IntegrityError:
            continue  # another request added it meanwhile
    if added:
        await commit(session)
    return contact_id
