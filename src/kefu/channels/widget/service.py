"""The web-chat widget channel: visitors become contacts with a `widget_visitor` identity."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.auth.tokens import read_contact, sign_contact
from kefu.channels.models import Inbox
from kefu.channels.service import get_inbox_by_key
from kefu.contacts.models import Contact
from kefu.contacts.schemas import ContactCreate
from kefu.contacts.service import do_add_identity, do_create_contact
from kefu.conversations.ingest import InboxRef
from kefu.conversations.models import Conversation
from kefu.core.constants import ActorType, ChannelType, IdentityKind
from kefu.core.errors import RateLimited, Unauthorized
from kefu.core.events import Actor, commit


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
            ref = InboxRef(inbox.id, inbox.account_id, inbox.public_key)
            if len(self._refs) >= self.MAX_ENTRIES:
                self._refs.clear()
            self._refs[key] = ref
        return ref


def widget_inboxes(state: Any) -> WidgetInboxes:
    cache: WidgetInboxes | None = state.extras.get("channels.widget.inboxes")
    if cache is None:
        cache = state.extras["channels.widget.inboxes"] = WidgetInboxes(state.sessionmaker)
    return cache


async def check_visitor_rate(state: Any, client_ip: str) -> None:
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
    return contact, sign_contact(secret, inbox.account_id, inbox.id, contact.id)


def visitor_contact_id(inbox: Inbox | InboxRef, secret: str, token: str | None) -> int:
    """The contact id a widget token was signed for, if it belongs to this inbox (no database read)."""
    if not token:
        raise Unauthorized("missing X-Contact-Token")
    account_id, inbox_id, contact_id = read_contact(secret, token)
    if inbox_id != inbox.id or account_id != inbox.account_id:
        raise Unauthorized("this contact token belongs to another inbox")
    return contact_id


async def authenticate_visitor(session: AsyncSession, inbox: Inbox, secret: str, token: str | None) -> Contact:
    contact_id = visitor_contact_id(inbox, secret, token)
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.account_id != inbox.account_id:
        raise Unauthorized("unknown contact")
    return contact


async def latest_conversation(session: AsyncSession, inbox: Inbox, contact: Contact) -> Conversation | None:
    q = (
        select(Conversation)
        .where(Conversation.inbox_id == inbox.id, Conversation.contact_id == contact.id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    return (await session.execute(q)).scalar_one_or_none()
