"""What the WeChat Official Account and WeCom webhooks check alike, each answered with a precise 4xx:

- the inbox its key names, of that channel (404), and its config (its adapter's schema);
- the query's signature parameters present (401 "unsigned") and the timestamp within `MAX_SKEW` of now
  (401: a stale or replayed request);
- the XML body: at most `wxcrypto.MAX_XML_BYTES` (413), no DOCTYPE or entities, well-formed (400);
- the encrypted payload: the msg_signature over token, timestamp, nonce and the ciphertext (401), then
  decryption for this app id / corp id (400).

And the contact a channel identity names (`contact_for`): found or created by `do_contact_for_identity`,
with a second identity (a WeChat unionid) attached when it is free.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from kefu.channels.base import InboundRequest
from kefu.channels.service import get_inbox_by_key
from kefu.channels.wxcrypto import BadSignature, WxCrypto, WxCryptoError, XmlRefused, parse_xml
from kefu.contacts.service import do_add_identity, do_contact_for_identity, find_contact_by_identity
from kefu.conversations.schemas import InboxRef
from kefu.core import clock
from kefu.core.constants import ChannelType, IdentityKind
from kefu.core.errors import BadRequest, TooLarge, Unauthorized, Unprocessable
from kefu.core.state import AppState

MAX_SKEW = timedelta(minutes=5)
C = TypeVar("C", bound=BaseModel)


async def load_inbox(
    state: AppState, request: InboundRequest, kind: ChannelType, schema: type[C]
) -> tuple[InboxRef, C]:
    async with state.sessionmaker() as session:
        inbox = await get_inbox_by_key(session, request.inbox_key, kind)
        ref = InboxRef(inbox.id, inbox.account_id, inbox.public_key, inbox.channel_type)
        raw = dict(inbox.config or {})
    try:
        return ref, schema.model_validate(raw)
    except ValidationError as exc:
        raise Unprocessable(f"the inbox's {kind} settings are incomplete: {exc.errors()[0]['msg']}") from None


def signed_query(query: Mapping[str, str], *names: str) -> list[str]:
    """The named query parameters (401 when one is missing) after checking the timestamp is fresh."""
    missing = [n for n in names if not query.get(n)]
    if missing:
        raise Unauthorized(f"unsigned request: {', '.join(missing)} missing")
    check_fresh(query["timestamp"])
    return [query[n] for n in names]


def check_fresh(timestamp: str) -> None:
    try:
        sent = int(timestamp)
    except ValueError:
        raise Unauthorized("the timestamp is not a number") from None
    if abs(clock.now().timestamp() - sent) > MAX_SKEW.total_seconds():
        raise Unauthorized("the timestamp is more than 5 minutes away from now: a stale or replayed request")


def xml_fields(body: bytes) -> dict[str, str]:
    try:
        return parse_xml(body)
    except XmlRefused as exc:
        if exc.too_large:
            raise TooLarge(str(exc)) from None
        raise BadRequest(str(exc)) from None


def decrypted_fields(
    crypto: WxCrypto, msg_signature: str, timestamp: str, nonce: str, envelope: bytes
) -> dict[str, str]:
    """The fields of the encrypted message inside a safe-mode (or compatible-mode) body."""
    encrypted = xml_fields(envelope).get("Encrypt", "")
    if not encrypted:
        raise BadRequest("the body carries no <Encrypt> element")
    return xml_fields(decrypted(crypto, msg_signature, timestamp, nonce, encrypted))


def decrypted(crypto: WxCrypto, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
    try:
        crypto.check(msg_signature, timestamp, nonce, encrypted)
    except BadSignature:
        raise Unauthorized("bad msg_signature") from None
    try:
        return crypto.decrypt(encrypted)
    except WxCryptoError as exc:
        raise BadRequest(f"the message cannot be decrypted: {exc}") from None


async def contact_for(
    state: AppState,
    inbox: InboxRef,
    kind: IdentityKind,
    value: str,
    *,
    name: str,
    also: tuple[IdentityKind, str] | None = None,
) -> int:
    """The contact's id; `also` (e.g. the unionid) is attached when no contact holds it yet."""
    async with state.sessionmaker() as session:
        contact, _ = await do_contact_for_identity(session, inbox.account_id, kind, value, name=name, inbox_id=inbox.id)
        contact_id = contact.id
        if also is not None and also[1]:
            holder = await find_contact_by_identity(session, inbox.account_id, *also)
            if holder is None:
                try:
                    async with session.begin_nested():
                        await do_add_identity(session, contact, also[0], also[1], inbox_id=inbox.id)
                    await session.commit()
                except IntegrityError:
                    await session.rollback()  # another request attached it first
    return contact_id
