"""Fixtures of the durable-listener tests: an engine on each backend's database and a fresh account."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import do_create_account
from kefu.core.events import commit
from tests.support.factories import uniq


@pytest.fixture
async def account_id(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        account = await do_create_account(session, uniq("Listeners "))
        await commit(session)
    return account.id
