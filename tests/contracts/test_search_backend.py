"""Every SearchBackend passes the same contract, on SQLite and on PostgreSQL.

Implementations: `inprocess` (kefu.knowledge.index.InProcessSearch, what kefu runs) and `bruteforce`
(tests/knowledge/bruteforce_search.py: no cache, exact scores — it keeps the contract honest about
behaviour). A new backend (e.g. PostgreSQL with pgvector + full-text) is added to IMPLEMENTATIONS.

Writes go through knowledge.service on sessions of a node whose backend is bound by
search_node.start_search — exactly as in the app — so "found right after the write" is read-your-writes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import do_create_account
from kefu.core.bus import EventBus, InProcessBus
from kefu.core.db import make_engine, make_sessionmaker
from kefu.core.errors import Conflict
from kefu.core.events import Actor, bind_bus
from kefu.core.services import Services
from kefu.knowledge import service
from kefu.knowledge.importing import ImportRow
from kefu.knowledge.index import InProcessSearch
from kefu.knowledge.schemas import ArticleCreate, EntryKind, EntryStatus, FaqCreate, FaqUpdate
from kefu.knowledge.search import SearchBackend, SearchFilters, read_version
from kefu.knowledge.search_node import KNOWLEDGE_INDEX, start_search, stop_search
from kefu.nlp.embed import Embedder, bundled_embedder
from tests.knowledge.bruteforce_search import BruteForceSearch

ACTOR = Actor.system()
Make = Callable[[async_sessionmaker[AsyncSession], EventBus], SearchBackend]
IMPLEMENTATIONS: dict[str, Make] = {
    "inprocess": lambda sm, bus: InProcessSearch(sm, bus, bundled_embedder),
    "bruteforce": lambda sm, bus: BruteForceSearch(sm, bundled_embedder()),
}

RETURNS = {"question": "如何申请退货？", "variants": ["怎么退货", "我想退货"], "answer": "在订单页申请退货。"}
INVOICE = {"question": "如何开发票？", "variants": ["怎么开发票"], "answer": "在订单详情页申请发票。"}
TRACKING = {
    "question": "How can I track my package?",
    "variants": ["where is my parcel"],
    "answer": "Open My orders and tap Track.",
    "language": "en",
}
SHIPPING = {"title": "配送说明", "body": "## 运费\n订单满 99 元包邮，不满 99 元收取 8 元运费。", "language": "zh"}


@dataclass
class Node:
    """One app node: its sessions carry its search backend, like AppState's."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    settings: Any = None
    services: Services = field(default_factory=Services)
    embedder: Embedder | None = None

    @property
    def search(self) -> SearchBackend:
        return self.services.get(KNOWLEDGE_INDEX)

    async def account(self) -> int:
        async with self.sessionmaker() as session:
            account = await do_create_account(session, "search-" + uuid.uuid4().hex[:8])
            await session.commit()
            return account.id

    async def faq(self, account_id: int, published: bool = True, **data: Any) -> int:
        status = EntryStatus.PUBLISHED if published else EntryStatus.DRAFT
        async with self._session() as session:
            entry = await service.check_create_faq(session, account_id, FaqCreate(**data, status=status), ACTOR)
            return entry.id

    async def article(self, account_id: int, **data: Any) -> int:
        async with self._session() as session:
            create = ArticleCreate(**data, status=EntryStatus.PUBLISHED)
            return (await service.check_create_article(session, account_id, create, ACTOR)).id

    async def run(self, write: Callable[..., Any], *args: Any) -> Any:
        async with self._session() as session:
            return await write(session, *args)

    async def db_version(self, account_id: int) -> int:
        async with self.sessionmaker() as session:
            return await read_version(session, account_id)

    async def ids(self, account_id: int, q: str, k: int = 10, **filters: Any) -> list[int]:
        hits = await self.search.search(account_id, q, k=k, filters=SearchFilters(**filters))
        return [h.entry_id for h in hits]

    def _session(self) -> Any:
        session = self.sessionmaker()
        bind_bus(session, self.bus)
        return session


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def nodes(request: pytest.FixtureRequest, backend: dict[str, Any]) -> AsyncIterator[tuple[Node, Node]]:
    """Two nodes on the same database, each with its own in-process bus: they never hear each other."""
    engine = make_engine(backend["database_url"])
    made = []
    for _ in range(2):
        sessionmaker, bus = make_sessionmaker(engine), InProcessBus()
        node = Node(sessionmaker, bus)
        start_search(node, IMPLEMENTATIONS[request.param](sessionmaker, bus))
        made.append(node)
    yield made[0], made[1]
    for node in made:
        await stop_search(node)
    await engine.dispose()


async def test_a_published_faq_is_found_right_after_the_write_and_a_draft_is_not(nodes: tuple[Node, Node]) -> None:
    node, _ = nodes
    account = await node.account()
    assert await node.search.search(account, "我想退货") == []  # nothing written yet
    draft = await node.faq(account, published=False, **INVOICE)
    returns = await node.faq(account, **RETURNS, category="退换货")
    hit = (await node.search.search(account, "怎么退货", k=1))[0]
    assert (hit.entry_kind, hit.entry_id, hit.title) == ("faq", returns, "如何申请退货？")
    assert hit.answer == "在订单页申请退货。"
    assert (hit.matched_text, hit.language, hit.category) == ("怎么退货", "zh", "退换货")
    assert 0.5 < hit.dense_score <= 1.0001
    assert draft not in await node.ids(account, "怎么开发票")
    await node.run(service.do_set_status, account, EntryKind.FAQ, draft, EntryStatus.PUBLISHED, ACTOR)
    assert (await node.ids(account, "怎么开发票"))[0] == draft


async def test_accounts_never_see_each_others_knowledge(nodes: tuple[Node, Node]) -> None:
    node, _ = nodes
    mine, theirs = await node.account(), await node.account()
    ours = await node.faq(mine, **RETURNS)
    other = await node.faq(theirs, **RETURNS)
    assert await node.ids(mine, "怎么退货") == [ours]
    assert await node.ids(theirs, "怎么退货") == [other]
    assert await node.ids(await node.account(), "怎么退货") == []


async def test_an_edited_entry_is_found_as_edited_and_an_unpublished_or_deleted_one_is_not(
    nodes: tuple[Node, Node],
) -> None:
    node, _ = nodes
    account = await node.account()
    returns, invoice = await node.faq(account, **RETURNS), await node.faq(account, **INVOICE)
    await node.run(service.check_update_faq, account, returns, FaqUpdate(answer="七天内可退。"), ACTOR)
    hit = (await node.search.search(account, "我想退货", k=1))[0]
    assert (hit.entry_id, hit.answer) == (returns, "七天内可退。")
    await node.run(service.do_set_status, account, EntryKind.FAQ, returns, EntryStatus.DRAFT, ACTOR)
    assert await node.ids(account, "我想退货") == [invoice]
    await node.run(service.do_delete_entry, account, EntryKind.FAQ, invoice, ACTOR)
    assert await node.ids(account, "怎么开发票") == []


async def test_every_write_moves_the_knowledge_version_by_one_and_the_backend_reports_it(
    nodes: tuple[Node, Node],
) -> None:
    node, _ = nodes
    account = await node.account()
    assert await node.db_version(account) == 0
    faq = await node.faq(account, **RETURNS)
    assert await node.db_version(account) == 1
    await node.run(service.check_update_faq, account, faq, FaqUpdate(answer="七天内可退。"), ACTOR)
    await node.run(service.do_set_status, account, EntryKind.FAQ, faq, EntryStatus.DRAFT, ACTOR)
    assert await node.db_version(account) == 3
    await node.run(service.do_set_status, account, EntryKind.FAQ, faq, EntryStatus.DRAFT, ACTOR)  # no-op
    with pytest.raises(Conflict):
        await node.run(service.check_update_faq, account, faq, FaqUpdate(answer="x", expected_version=1), ACTOR)
    assert await node.db_version(account) == 3
    rows = [ImportRow(1, {**INVOICE, "status": "published"}), ImportRow(2, {**TRACKING, "status": "published"})]
    await node.run(service.check_import_faqs, account, rows, ACTOR)
    assert await node.db_version(account) == 4  # one import, one version
    await node.run(service.do_delete_entry, account, EntryKind.FAQ, faq, ACTOR)
    assert await node.db_version(account) == 5
    await node.search.search(account, "怎么开发票")
    assert node.search.version(account) == 5
    assert await node.db_version(await node.account()) == 0  # another account's version did not move


async def test_language_and_kind_filters(nodes: tuple[Node, Node]) -> None:
    node, _ = nodes
    account = await node.account()
    returns, tracking = await node.faq(account, **RETURNS), await node.faq(account, **TRACKING)
    article = await node.article(account, **SHIPPING)
    everything = await node.ids(account, "运费 退货 parcel")
    assert sorted(everything) == sorted([returns, tracking, article])
    assert await node.ids(account, "where is my parcel", language="en") == [tracking]
    assert sorted(await node.ids(account, "退货", language="zh-TW")) == sorted([returns, article])  # primary subtag
    assert await node.ids(account, "退货", language="fr") == []
    assert await node.ids(account, "运费多少", kinds={EntryKind.ARTICLE}) == [article]
    hits = await node.search.search(account, "运费", filters=SearchFilters(kinds={EntryKind.FAQ}))
    assert {h.entry_kind for h in hits} == {"faq"}


async def test_k_empty_queries_and_a_given_vector(nodes: tuple[Node, Node]) -> None:
    node, _ = nodes
    account = await node.account()
    returns = await node.faq(account, **RETURNS)
    await node.faq(account, **INVOICE)
    await node.faq(account, **TRACKING)
    assert await node.search.search(account, "   ") == []
    assert await node.search.search(account, "退货", k=0) == []
    assert len(await node.search.search(account, "退货", k=2)) == 2
    vector = node.search.embedder.embed_queries(["我想退货"])[0]
    given = await node.search.search(account, "我想退货", vector=vector, k=1)
    assert [h.entry_id for h in given] == [returns] == await node.ids(account, "我想退货", k=1)


async def test_a_write_on_another_node_is_seen_after_refresh_without_any_message(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    account = await a.account()
    first = await a.faq(account, **RETURNS)
    assert await b.ids(account, "怎么退货") == [first]
    assert b.search.version(account) == 1
    second = await a.faq(account, **INVOICE)
    await a.run(service.do_delete_entry, account, EntryKind.FAQ, first, ACTOR)
    assert await b.search.refresh(account) == 3 == await a.db_version(account)
    assert b.search.version(account) == 3
    assert await b.ids(account, "怎么退货 怎么开发票") == [second]
