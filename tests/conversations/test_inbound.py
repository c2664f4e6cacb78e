"""The one inbound action (conversations/inbound.py): a list of customers' messages is checked as a whole,
stored in one group commit, and followed by the hooks for what was newly stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.conversations.inbound import receive_customer_message, receive_customer_messages
from kefu.conversations.ingest import get_ingest
from kefu.conversations.models import Message
from kefu.conversations.schemas import AttachmentIn, ContactMessageCreate, InboundMessage, InboxRef
from kefu.core.errors import NotFound, TooLarge
from tests.support.factories import Visitor, World, uniq


@pytest.fixture
def calls(api: World) -> Iterator[dict[str, list[Any]]]:
    """What the hooks were told, recorded by hooks added for the test."""
    hooks = api.server.state.hooks
    seen: dict[str, list[Any]] = {"arriving": [], "stored": []}

    def arriving(inbox_id: int, contact_id: int, text: str) -> None:
        seen["arriving"].append((inbox_id, contact_id, text))

    async def stored(state: Any, conversation_id: int, message_id: int) -> None:
        seen["stored"].append((conversation_id, message_id))

    hooks.customer_message_arriving.append(arriving)
    hooks.customer_message.append(stored)
    yield seen
    hooks.customer_message_arriving.remove(arriving)
    hooks.customer_message.remove(stored)


async def _message(api: World, visitor: Visitor, text: str, cmid: str | None = None, **data: Any) -> InboundMessage:
    inboxes = (await api.http.get("/api/v1/inboxes")).json()
    inbox = next(i for i in inboxes if i["public_key"] == visitor.inbox_key)
    content = ContactMessageCreate(content=text, client_message_id=cmid or uniq("in-"), **data)
    return InboundMessage(InboxRef(inbox["id"], api.account_id, visitor.inbox_key), visitor.contact_id, content)


async def _stored(api: World) -> int:
    async with api.server.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_a_list_is_stored_in_one_batch_and_hooks_run_for_new_messages(
    api: World, calls: dict[str, list[Any]]
) -> None:
    (a, conv_a), (b, conv_b) = await api.conversation("a"), await api.conversation("b")
    state = api.server.state
    retry = await _message(api, a, "first", "dup-1")
    first = await receive_customer_message(state, retry)
    calls["arriving"].clear(), calls["stored"].clear()
    batches = get_ingest(state).batches
    batch = [await _message(api, a, "one"), await _message(api, b, "two"), retry, await _message(api, a, "three")]

    got = await receive_customer_messages(state, batch)

    assert get_ingest(state).batches == batches + 1
    assert [(r.conversation_id, r.created, r.message.content) for r in got] == [
        (conv_a["id"], True, "one"),
        (conv_b["id"], True, "two"),
        (conv_a["id"], False, "first"),
        (conv_a["id"], True, "three"),
    ]
    assert got[2].message.id == first.message.id
    assert calls["arriving"] == [(m.inbox.id, m.contact_id, m.data.content) for m in batch]
    assert calls["stored"] == [(r.conversation_id, r.message.id) for r in got if r.created]
    assert await receive_customer_messages(state, []) == []


async def test_one_refused_message_stores_nothing_of_the_list(api: World, calls: dict[str, list[Any]]) -> None:
    (a, _), (b, _) = await api.conversation("a"), await api.conversation("b")
    state = api.server.state
    calls["arriving"].clear(), calls["stored"].clear()
    before = await _stored(api)
    too_long = await _message(api, b, "长" * (state.settings.max_message_chars + 1))
    with pytest.raises(TooLarge):
        await receive_customer_messages(state, [await _message(api, a, "fine"), too_long])
    someone_elses = await _message(api, b, "see attached", attachments=[AttachmentIn(id=10**15)])
    with pytest.raises(NotFound, match=f"attachment {10**15} not found"):
        await receive_customer_messages(state, [await _message(api, a, "fine"), someone_elses])
    assert await _stored(api) == before
    assert calls == {"arriving": [], "stored": []}
