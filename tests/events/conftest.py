"""Fixtures of the durable-listener tests: an engine on a database of each backend that no test server
writes to (tests/conftest.py's `quiet_database_url`), and a fresh account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import do_create_account
from kefu.core.events import commit
from tests.support.factories import uniq


@pytest.fixture
async def sessionmaker(quiet_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from kefu.core.db import make_engine, make_sessionmaker

    engine = make_engine(quiet_database_url, pool_size=10)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def account_id(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        account = await do_create_account(session, uniq("Listeners "))
        await commit(session)
    return account.id
