"""`do_contact_for_identity`: the one contact a channel identity names, created once even when two
requests for a new identity race (two sessions on each backend)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import do_create_account
from kefu.contacts.models import Contact, ContactIdentity
from kefu.contacts.service import do_contact_for_identity, find_contact_by_identity
from kefu.core.constants import IdentityKind
from kefu.core.events import commit
from tests.support.factories import uniq

SM = async_sessionmaker[AsyncSession]


async def _account(sm: SM) -> int:
    async with sm() as session:
        account = await do_create_account(session, uniq("Identities "))
        await commit(session)
    return account.id


async def test_an_identity_names_one_contact_and_emails_ignore_case(sessionmaker: SM) -> None:
    account_id = await _account(sessionmaker)
    async with sessionmaker() as session:
        first, created = await do_contact_for_identity(
            session, account_id, IdentityKind.EMAIL, " Li.Lei@Example.COM ", name="李雷"
        )
    assert created and (first.name, first.email) == ("李雷", "li.lei@example.com")
    async with sessionmaker() as session:
        again, created = await do_contact_for_identity(session, account_id, IdentityKind.EMAIL, "li.lei@example.com")
        assert (again.id, created) == (first.id, False)
        other, created = await do_contact_for_identity(session, account_id, IdentityKind.WECHAT_OPENID, "oABC")
        assert created and other.id != first.id and other.email is None
        assert (await find_contact_by_identity(session, account_id, "wechat_openid", "oABC")) is not None
        assert await find_contact_by_identity(session, account_id, "wechat_openid", "oabc") is None


async def test_racing_requests_for_a_new_identity_make_one_contact(sessionmaker: SM) -> None:
    account_id = await _account(sessionmaker)

    async def one() -> int:
        async with sessionmaker() as session:
            contact, _ = await do_contact_for_identity(session, account_id, IdentityKind.WECHAT_OPENID, "o-race")
            return contact.id

    ids = await asyncio.gather(*(one() for _ in range(6)))
    assert len(set(ids)) == 1
    async with sessionmaker() as session:
        q = select(func.count()).select_from(Contact).where(Contact.account_id == account_id)
        assert (await session.execute(q)).scalar_one() == 1
        q = select(func.count()).select_from(ContactIdentity).where(ContactIdentity.account_id == account_id)
        assert (await session.execute(q)).scalar_one() == 1
