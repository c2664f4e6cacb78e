"""Fixtures of the routing tests: an engine on each backend's database and a fresh account."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import do_create_account
from kefu.core.events import commit
from tests.support.factories import uniq


@pytest.fixture
async def account_id(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        account = await do_create_account(session, uniq("Routing "))
        # The live server of the test session (same database) runs the periodic assigner for every account:
        # these tests run the assigner themselves, so the account turns automatic assignment off.
        account.settings = {"routing": {"auto_assign": False}}
        await commit(session)
    return account.id
