"""Fixtures of the SLA tests: an engine on each backend's database, a fresh account with an inbox and a
contact, and conversations created as rows (the clocks are driven by kefu.sla's own functions)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import do_create_account
from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core.events import commit
from tests.support.factories import uniq

SM = async_sessionmaker[AsyncSession]
NewConversation = Callable[..., Awaitable[Conversation]]


@pytest.fixture
async def account_id(sessionmaker: SM) -> int:
    async with sessionmaker() as session:
        account = await do_create_account(session, uniq("SLA "))
        await commit(session)
    return account.id


@pytest.fixture
async def new_conversation(sessionmaker: SM, account_id: int) -> NewConversation:
    async def make(at: datetime, *, priority: str = "p2", tier: str = "normal", **fields: Any) -> Conversation:
        async with sessionmaker() as session:
            inbox = Inbox(account_id=account_id, name="Web", channel_type="web_widget", public_key=uuid.uuid4().hex)
            contact = Contact(account_id=account_id, name="客户", tier=tier)
            session.add_all([inbox, contact])
            await session.flush()
            conv = Conversation(
                account_id=account_id,
                inbox_id=inbox.id,
                contact_id=contact.id,
                priority=priority,
                status="open",
                created_at=at,
                last_activity_at=at,
                bot_state={},
                **fields,
            )
            session.add(conv)
            await session.commit()
            return conv

    return make
