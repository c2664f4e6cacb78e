"""The web-chat widget channel: visitors become contacts with a `widget_visitor` identity."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.auth.tokens import ContactClaims, read_contact, read_ticket, sign_contact, sign_ticket
from kefu.channels.models import Inbox
from kefu.channels.service import get_inbox_by_key
from kefu.contacts.models import Contact
from kefu.contacts.schemas import ContactCreate
from kefu.contacts.service import do_add_identity, do_create_contact, get_contact
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import InboxRef
from kefu.core.constants import ActorType, ChannelType, EventType, IdentityKind
from kefu.core.errors import NotFound, RateLimited, Unauthorized
from kefu.core.events import Actor, commit, emit
from kefu.core.services import ServiceKey
from kefu.settings import Settings

if TYPE_CHECKING:
    from kefu.core.state import AppState

TICKET_MAX_AGE_S = 60
VERSIONS_TTL_S = 30.0
SIGNED_OUT = "this visitor was signed out; start a new chat"


async def get_widget_inbox(session: AsyncSession, key: str) -> Inbox:
    return await get_inbox_by_key(session, key, ChannelType.WEB_WIDGET)


class WidgetInboxes:
    """public key → InboxRef, read once per process. An inbox's id and account never change; a deleted
    inbox has no conversations left, so its messages fall to the one-message path, which answers 404."""

    MAX_ENTRIES = 10_000

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._refs: dict[str, InboxRef] = {}

    async def get(self, key: str) -> InboxRef:
        ref = self._refs.get(key)
        if ref is None:
            async with self.sessionmaker() as session:
                inbox = await get_widget_inbox(session, key)
            ref = InboxRef(inbox.id, inbox.account_id, inbox.public_key, inbox.channel_type)
            if len(self._refs) >= self.MAX_ENTRIES:
                self._refs.clear()
            self._refs[key] = ref
        return ref


WIDGET_INBOXES: ServiceKey[WidgetInboxes] = ServiceKey("the widget's inbox cache", "widget_inboxes, on first use")


def widget_inboxes(state: AppState) -> WidgetInboxes:
    return state.services.get_or_install(WIDGET_INBOXES, lambda: WidgetInboxes(state.read_sessionmaker))


async def check_visitor_rate(state: AppState, client_ip: str) -> None:
    """Count a new visitor from `client_ip` (first, so a burst cannot slip past) and refuse it over the limit."""
    s = state.settings
    window = await state.limiter.hit(f"widget-visitor:{client_ip}", s.widget_visitor_window_s)
    if window.over(s.widget_visitors_per_ip):
        raise RateLimited(
            f"too many new chats from your address; try again in {window.reset_s} s", retry_after=window.reset_s
        )


async def do_start_visitor(
    session: AsyncSession, inbox: Inbox, secret: str, *, name: str, email: str | None, locale: str | None
) -> tuple[Contact, str]:
    data = ContactCreate(name=name or "", email=None)
    contact = await do_create_contact(session, inbox.account_id, data, Actor(ActorType.SYSTEM), commit_now=False)
    contact.locale = locale
    if email:
        contact.email = email
    await do_add_identity(session, contact, IdentityKind.WIDGET_VISITOR, secrets.token_hex(16), inbox.id)
    await commit(session)
    return contact, sign_contact(secret, inbox.account_id, inbox.id, contact.id, contact.token_version or 0)


def visitor_claims(inbox: Inbox | InboxRef, settings: Settings, token: str | None) -> ContactClaims:
    """What a widget token says, if it is genuine, unexpired and of this inbox (no database read)."""
    if not token:
        raise Unauthorized("missing X-Contact-Token")
    claims = read_contact(settings.secret_key, token, settings.contact_token_max_age_s)
    if claims.inbox_id != inbox.id or claims.account_id != inbox.account_id:
        raise Unauthorized("this contact token belongs to another inbox")
    return claims


async def authenticate_visitor(session: AsyncSession, inbox: Inbox, settings: Settings, token: str | None) -> Contact:
    claims = visitor_claims(inbox, settings, token)
    return await _contact_of(session, inbox, claims)


async def _contact_of(session: AsyncSession, inbox: Inbox | InboxRef, claims: ContactClaims) -> Contact:
    contact = await session.get(Contact, claims.contact_id)
    if contact is None or contact.account_id != inbox.account_id:
        raise Unauthorized("unknown contact")
    if contact.token_version != claims.version:
        raise Unauthorized(SIGNED_OUT)
    if contact.merged_into_id is not None:  # merged: the visitor goes on as the kept contact
        return await get_contact(session, inbox.account_id, contact.id)
    return contact


class TokenVersions:
    """contact id → its token version, read at most every 30 s per contact and process, for the message
    fast path (which reads nothing else). A sign-out is seen at once on the node that did it (and on every
    other path, which reads the contact), within 30 s on the fast path of other nodes."""

    MAX_ENTRIES = 100_000

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._versions: dict[int, tuple[int | None, float]] = {}

    async def get(self, contact_id: int) -> int | None:
        found = self._versions.get(contact_id)
        if found is not None and time.monotonic() - found[1] < VERSIONS_TTL_S:
            return found[0]
        async with self.sessionmaker() as session:
            version = await session.scalar(select(Contact.token_version).where(Contact.id == contact_id))
        self.put(contact_id, version)
        return version

    def put(self, contact_id: int, version: int | None) -> None:
        if len(self._versions) >= self.MAX_ENTRIES:
            self._versions.clear()
        self._versions[contact_id] = (version, time.monotonic())


TOKEN_VERSIONS: ServiceKey[TokenVersions] = ServiceKey("the visitors' token versions", "token_versions, on first use")


def token_versions(state: AppState) -> TokenVersions:
    return state.services.get_or_install(TOKEN_VERSIONS, lambda: TokenVersions(state.read_sessionmaker))


async def visitor_contact_id(state: AppState, inbox: InboxRef, token: str | None) -> int:
    """The contact a widget token names, for the message fast path: the signature and age are checked
    without the database, the version against `TokenVersions`."""
    claims = visitor_claims(inbox, state.settings, token)
    if await token_versions(state).get(claims.contact_id) != claims.version:
        raise Unauthorized(SIGNED_OUT)
    return claims.contact_id


async def issue_ticket(state: AppState, inbox: InboxRef, token: str | None) -> str:
    """A one-time ticket (valid 60 s) to open the widget socket with, for a genuine, current token — checked
    as the message fast path checks it (`visitor_contact_id`): no write, at most one read per 30 s."""
    await visitor_contact_id(state, inbox, token)
    return sign_ticket(state.settings.secret_key, visitor_claims(inbox, state.settings, token))


async def check_ticket(session: AsyncSession, state: AppState, inbox: InboxRef, ticket: str | None) -> Contact:
    """The contact a socket ticket was issued to (the kept one, for a merged visitor) — once: a ticket seen
    before is refused (the limiter's counters are shared by every node, so this holds across nodes too).
    Reads only: `session` may be a read-only one."""
    if not ticket:
        raise Unauthorized("missing ticket")
    claims = read_ticket(state.settings.secret_key, ticket, TICKET_MAX_AGE_S)
    if claims.inbox_id != inbox.id or claims.account_id != inbox.account_id:
        raise Unauthorized("this ticket belongs to another inbox")
    if (await state.limiter.hit(f"ws-ticket:{claims.nonce}", TICKET_MAX_AGE_S * 2)).count != 1:
        raise Unauthorized("this ticket was used already")
    return await _contact_of(session, inbox, claims)


async def do_sign_out_visitor(
    session: AsyncSession, state: AppState, account_id: int, contact_id: int, actor: Actor
) -> int:
    """Invalidate every widget token of a contact (bump its version); its open sockets are closed by the
    `contact.signed_out` event. Returns the new version."""
    bumped = await session.execute(
        update(Contact)
        .where(
            or_(Contact.id == contact_id, Contact.merged_into_id == contact_id),  # with contacts merged into it
            Contact.account_id == account_id,
        )
        .values(token_version=Contact.token_version + 1)
        .returning(Contact.id, Contact.token_version)
    )
    versions = {int(row.id): int(row.token_version) for row in bumped}
    if contact_id not in versions:
        raise NotFound("contact", contact_id)
    emit(session, account_id, EventType.CONTACT_SIGNED_OUT, {"id": contact_id}, actor=actor, contact_id=contact_id)
    await commit(session)
    for ident, version in versions.items():
        token_versions(state).put(ident, version)
    return versions[contact_id]


async def latest_conversation(
    session: AsyncSession, inbox: Inbox | InboxRef, contact: Contact | int
) -> Conversation | None:
    """The visitor's conversation: their latest in this inbox, or the one their widget messages went into
    (continuity "same_conversation" puts them in the contact's open conversation of another inbox)."""
    contact_id = contact if isinstance(contact, int) else contact.id
    through_widget = select(Message.conversation_id).where(
        Message.inbox_id == inbox.id, Message.sender_type == ActorType.CONTACT, Message.sender_id == contact_id
    )
    q = (
        select(Conversation)
        .where(
            Conversation.contact_id == contact_id,
            or_(Conversation.inbox_id == inbox.id, Conversation.id.in_(through_widget)),
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    return (await session.execute(q)).scalar_one_or_none()
