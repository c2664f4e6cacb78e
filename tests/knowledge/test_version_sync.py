"""Two app states on one database (SQLite and PostgreSQL) keep their search caches current through the
knowledge version in the database — node B converges on node A's writes without hearing any message —
and, when they share a bus, through its messages (a gap in the versions makes B reconcile)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from kefu.accounts.service import do_create_account
from kefu.core.events import Actor, bind_bus
from kefu.core.state import AppState
from kefu.knowledge import service
from kefu.knowledge.index import InProcessSearch, knowledge_topic
from kefu.knowledge.schemas import EntryKind, FaqCreate, FaqUpdate
from kefu.knowledge.search import read_version
from kefu.knowledge.search_node import KNOWLEDGE_INDEX, search_knowledge, start_search, stop_search
from tests.conftest import free_port
from tests.support import server as live

ACTOR = Actor.system()
NEVER = 3600.0


@pytest.fixture
async def states(backend: dict[str, Any]) -> AsyncIterator[tuple[AppState, AppState]]:
    """Nodes A and B on the same database, each with its own in-process bus (B never hears A)."""
    settings = live.test_settings({**backend, "redis_url": None}, free_port(), f"sync-{uuid.uuid4().hex[:6]}:")
    a, b = AppState.build(settings), AppState.build(settings)
    for state in (a, b):
        await state.start()
        start_search(state)
    yield a, b
    for state in (a, b):
        await stop_search(state)
        await state.stop()


def backend_of(state: AppState) -> InProcessSearch:
    search = state.services.get(KNOWLEDGE_INDEX)
    assert isinstance(search, InProcessSearch)
    return search


async def new_account(state: AppState) -> int:
    async with state.sessionmaker() as session:
        account = await do_create_account(session, "sync-" + uuid.uuid4().hex[:8])
        await session.commit()
        return account.id


async def write(state: AppState, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    async with state.sessionmaker() as session:
        bind_bus(session, state.bus)
        return await call(session, *args, ACTOR)


def faq(question: str, *variants: str, answer: str = "答案。") -> FaqCreate:
    return FaqCreate(question=question, variants=list(variants), answer=answer, status="published")


async def top(state: AppState, account_id: int, q: str) -> tuple[int, str] | None:
    hits = await search_knowledge(state, account_id, q, 1)
    return (hits[0].entry_id, hits[0].answer) if hits else None


async def test_node_b_that_never_hears_node_a_converges_within_the_check_interval(
    states: tuple[AppState, AppState],
) -> None:
    a, b = states
    account = await new_account(a)
    returns = await write(a, service.check_create_faq, account, faq("如何申请退货？", "我想退货"))
    assert await top(b, account, "我想退货") == (returns.id, "答案。")  # B builds its cache: version 1
    backend_of(b).check_every_s = NEVER

    await write(a, service.check_update_faq, account, returns.id, FaqUpdate(answer="七天内可退。"))
    assert await top(a, account, "我想退货") == (returns.id, "七天内可退。")  # A: read-your-writes
    assert await top(b, account, "我想退货") == (returns.id, "答案。")  # B missed the message, has not checked
    assert backend_of(b).version(account) == 1

    interval = 0.5
    backend_of(b).check_every_s = interval
    await asyncio.sleep(interval)
    assert await top(b, account, "我想退货") == (returns.id, "七天内可退。")
    assert backend_of(b).version(account) == 2

    await write(a, service.do_delete_entry, account, EntryKind.FAQ, returns.id)
    await asyncio.sleep(interval)
    assert await top(b, account, "我想退货") is None
    async with b.sessionmaker() as session:
        assert backend_of(b).version(account) == await read_version(session, account) == 3


async def test_a_shared_bus_updates_node_b_at_once_and_a_version_gap_makes_it_reconcile(
    states: tuple[AppState, AppState],
) -> None:
    a, b = states
    backend_of(b).bus = a.bus  # B's search now hears A's
    account = await new_account(a)
    first = await write(a, service.check_create_faq, account, faq("如何开发票？", "怎么开发票"))
    assert await top(b, account, "怎么开发票") == (first.id, "答案。")
    backend_of(b).check_every_s = NEVER  # from here on only messages can update B

    second = await write(a, service.check_create_faq, account, faq("退款多久到账？", "退款多久能收到"))
    await eventually(lambda: top(b, account, "退款多久能收到"), (second.id, "答案。"))
    assert backend_of(b).version(account) == 2

    # A writes twice more, but B hears only about the second write (the first message was lost):
    backend_of(a).bus = _Deaf()
    third = await write(a, service.check_create_faq, account, faq("订单什么时候发货？", "多久发货"))
    fourth = await write(a, service.check_update_faq, account, first.id, FaqUpdate(answer="在订单页申请。"))
    message = {"op": "entry", "version": 4, "kind": "faq", "id": fourth.id, "origin": "node-a"}
    await a.bus.publish(knowledge_topic(account), message)
    await eventually(lambda: top(b, account, "怎么开发票"), (first.id, "在订单页申请。"))
    assert await top(b, account, "多久发货") == (third.id, "答案。")  # the lost write, found by reconciling
    assert backend_of(b).version(account) == 4


async def eventually(check: Callable[[], Awaitable[Any]], expected: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := await check()) != expected:
        assert time.monotonic() < deadline, f"still {got!r}, expected {expected!r}"
        await asyncio.sleep(0.05)


class _Deaf:
    """A bus that loses every message (what at-most-once delivery may do)."""

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        return None
