"""Per-account hybrid search index over PUBLISHED knowledge, kept consistent on every app node.

- Built lazily from the database on an account's first search (`HybridIndex`, kefu.nlp.retrieval).
- After a write commits, the writing node applies the change to its own index before the request returns
  (read-your-writes) and publishes `{"op": "entry", ...}` on the bus topic `knowledge:{account_id}`;
  every other node with that account loaded re-reads the entry from the database and upserts/removes it.
- Pub/sub is at-most-once, so a node also reconciles — compares (id, version) of the published entries
  in the database with what its index holds — at most every `reconcile_every_s`, in the background.
- Embedding is CPU-bound: it runs in worker threads (asyncio.to_thread), at most `threads` at a time;
  searches hold the account's index lock only for the scoring, never while embedding.

See docs/knowledge.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.bus import EventBus, Subscription
from kefu.core.events import _BUS
from kefu.core.services import ServiceKey, Services
from kefu.knowledge import documents
from kefu.knowledge.documents import EntryMeta, Indexed
from kefu.knowledge.schemas import EntryKind
from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.retrieval import Hit, HybridIndex

log = logging.getLogger("kefu.knowledge.index")
T = TypeVar("T")


def knowledge_topic(account_id: int) -> str:
    return f"knowledge:{account_id}"


@dataclass(frozen=True)
class KnowledgeHit:
    entry_kind: str  # "faq" | "article"
    entry_id: int
    title: str  # FAQ question or article title
    answer: str  # FAQ answer or an article snippet
    score: float  # fused (reciprocal-rank fusion of the two sides)
    bm25_score: float
    dense_score: float  # cosine
    matched_text: str  # the question variant / title / paragraph closest to the query
    language: str
    category: str
    relative_score: float = 0.0  # cosine minus the query's mean cosine to the other entries (HybridIndex)
    answer_floor: float | None = None  # the relative score this knowledge base's own rewordings reach


class _Host(Protocol):
    """What the manager needs from its host: AppState (serve) or JobContext (worker) both fit."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    settings: Any
    services: Services

    @property
    def embedder(self) -> Embedder | None: ...  # the process's one embedder (None: kefu.nlp's default)


class _Prefetched:
    """Wraps the embedder so vectors computed outside the index lock are reused inside it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.passages: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._lookup(texts, self.queries, self.inner.embed_queries)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._lookup(texts, self.passages, self.inner.embed_passages)

    def _lookup(self, texts: list[str], ready: dict[str, np.ndarray], embed: Callable[..., np.ndarray]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in ready]
        fresh = dict(zip(missing, embed(missing), strict=True)) if missing else {}
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([ready[t] if t in ready else fresh[t] for t in texts])


@dataclass
class _AccountIndex:
    embedder: _Prefetched
    index: HybridIndex
    meta: dict[str, EntryMeta] = field(default_factory=dict)
    index_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # guards `index` and `meta`
    apply_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # serialises DB read → apply
    subscription: Subscription | None = None
    reader: asyncio.Task[None] | None = None
    checked_at: float = 0.0
    reconciling: asyncio.Task[None] | None = None
    answer_floor: float | None = None  # placed by _apply after edits; searches only read it


class KnowledgeIndexManager:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        embedder: Callable[[], Embedder],
        *,
        threads: int = 2,
        max_accounts: int = 200,
        reconcile_every_s: float = 60.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.bus = bus
        self.node_id = uuid.uuid4().hex
        self.max_accounts = max_accounts
        self.reconcile_every_s = reconcile_every_s
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self._cpu = asyncio.Semaphore(threads)
        self._accounts: OrderedDict[int, _AccountIndex] = OrderedDict()
        self._loading: dict[int, asyncio.Task[_AccountIndex]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- public ------------------------------------------------------------------------------------

    async def search(
        self,
        account_id: int,
        query: str,
        k: int = 5,
        language: str | None = None,
        session: AsyncSession | None = None,
        vector: np.ndarray | None = None,
    ) -> list[KnowledgeHit]:
        query = query.strip()
        if not query or k <= 0:
            return []
        acc = await self._ensure(account_id, session)
        if vector is not None:
            qvec = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        else:
            qvec = await self._cpu_bound(self.embedder.embed_queries, [query])
        depth = k if language is None else max(4 * k, 20)
        async with acc.index_lock:
            acc.embedder.queries[query] = qvec[0]
            try:
                hits = await asyncio.to_thread(acc.index.search, query, depth)
            finally:
                acc.embedder.queries.pop(query, None)
            metas = [acc.meta[h.doc_id] for h in hits]
        out = [
            _hit(m, h, acc.answer_floor)
            for m, h in zip(metas, hits, strict=True)
            if documents.language_matches(m.language, language)
        ]
        return out[:k]

    async def apply_entry(self, account_id: int, kind: EntryKind, entry_id: int) -> None:
        """Bring one entry of a loaded account up to date with the database (no-op if not loaded)."""
        acc = self._accounts.get(account_id)
        if acc is None:
            return
        async with acc.apply_lock:
            async with self.sessionmaker() as session:
                found = await documents.load_published(session, account_id, kind, entry_id)
            if found is None:
                await self._mutate(acc, upserts=[], removals=[documents.doc_id(kind, entry_id)])
            else:
                await self._mutate(acc, upserts=[found], removals=[])

    async def reconcile(self, account_id: int) -> None:
        acc = self._accounts.get(account_id)
        if acc is not None:
            await self._reconcile(account_id, acc)

    def loaded(self, account_id: int) -> bool:
        return account_id in self._accounts

    def warm_up(self, limit: int = 10) -> None:
        """Build, in the background, the indexes of the accounts with the most recently edited published
        knowledge, so the first customer question after a start does not pay for embedding everything."""
        self._spawn(self._warm_up(limit))

    async def _warm_up(self, limit: int) -> None:
        from sqlalchemy import func, select

        from kefu.knowledge.models import FaqEntry

        async with self.sessionmaker() as session:
            q = (
                select(FaqEntry.account_id)
                .where(FaqEntry.status == "published")
                .group_by(FaqEntry.account_id)
                .order_by(func.max(FaqEntry.updated_at).desc())
                .limit(min(limit, self.max_accounts))
            )
            account_ids = list((await session.execute(q)).scalars())
            await session.commit()
        for account_id in account_ids:
            started = time.monotonic()
            try:
                acc = await self._ensure(account_id)
                log.info(
                    "knowledge index of account %s warmed: %d entries in %.1f s",
                    account_id,
                    len(acc.meta),
                    time.monotonic() - started,
                )
            except Exception:  # warming is an optimisation; a failure is logged, search still works
                log.exception("warming the knowledge index of account %s failed", account_id)

    async def stop(self) -> None:
        for task in list(self._tasks) + list(self._loading.values()):
            task.cancel()
        for account_id in list(self._accounts):
            await self._evict(account_id)
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    # -- loading and consistency -------------------------------------------------------------------

    async def _ensure(self, account_id: int, session: AsyncSession | None = None) -> _AccountIndex:
        acc = self._accounts.get(account_id)
        if acc is not None:
            self._accounts.move_to_end(account_id)
            if time.monotonic() - acc.checked_at > self.reconcile_every_s and acc.reconciling is None:
                acc.reconciling = self._spawn(self._background_reconcile(account_id, acc))
            return acc
        task = self._loading.get(account_id)
        if task is None:
            task = asyncio.ensure_future(self._load(account_id, session))
            self._loading[account_id] = task
            task.add_done_callback(lambda _t: self._loading.pop(account_id, None))
        return await asyncio.shield(task)

    async def _load(self, account_id: int, session: AsyncSession | None) -> _AccountIndex:
        embedder = _Prefetched(self.embedder)
        acc = _AccountIndex(embedder=embedder, index=HybridIndex(embedder))
        # Subscribe before reading the database: a change committed during the build is not lost.
        acc.subscription = await self.bus.subscribe(knowledge_topic(account_id))
        try:
            await self._reconcile(account_id, acc, session)
        except BaseException:
            await acc.subscription.close()
            raise
        acc.reader = self._spawn(self._read(account_id, acc))
        self._accounts[account_id] = acc
        while len(self._accounts) > self.max_accounts:
            await self._evict(next(iter(self._accounts)))
        return acc

    async def _reconcile(self, account_id: int, acc: _AccountIndex, session: AsyncSession | None = None) -> None:
        """Make the index hold exactly the published entries at their current versions.

        `session`: read through the caller's session (on SQLite a second session would wait for the
        caller's write lock); otherwise a short session of our own."""
        try:
            async with acc.apply_lock:
                acc.checked_at = time.monotonic()
                if session is not None:
                    docs, gone = await documents.diff_published(session, account_id, acc.meta)
                else:
                    async with self.sessionmaker() as own:
                        docs, gone = await documents.diff_published(own, account_id, acc.meta)
                if docs or gone:
                    await self._mutate(acc, upserts=docs, removals=gone)
        finally:
            acc.reconciling = None

    async def _background_reconcile(self, account_id: int, acc: _AccountIndex) -> None:
        try:
            await self._reconcile(account_id, acc)
        except Exception:
            log.exception("knowledge index reconcile for account %s failed", account_id)

    async def _read(self, account_id: int, acc: _AccountIndex) -> None:
        assert acc.subscription is not None
        async for message in acc.subscription:
            if message.get("origin") == self.node_id:
                continue  # applied locally before the write returned
            try:
                if message.get("op") == "entry":
                    await self.apply_entry(account_id, EntryKind(message["kind"]), int(message["id"]))
                else:
                    await self._reconcile(account_id, acc)
            except Exception:
                log.exception("knowledge index update for account %s failed: %r", account_id, message)
                acc.checked_at = 0.0  # reconcile on next use

    async def _mutate(self, acc: _AccountIndex, *, upserts: list[Indexed], removals: list[str]) -> None:
        texts = [t for doc, _ in upserts for t in documents.texts_of(doc)]
        vectors = await self._cpu_bound(self.embedder.embed_passages, texts) if texts else None
        async with acc.index_lock:
            if vectors is not None:
                acc.embedder.passages = dict(zip(texts, vectors, strict=True))
            try:
                await asyncio.to_thread(_apply, acc, upserts, removals)
            finally:
                acc.embedder.passages = {}

    async def _evict(self, account_id: int) -> None:
        acc = self._accounts.pop(account_id, None)
        if acc is None:
            return
        if acc.reader is not None:
            acc.reader.cancel()
        if acc.subscription is not None:
            await acc.subscription.close()

    async def _cpu_bound(self, func: Callable[..., T], *args: Any) -> T:
        async with self._cpu:
            return await asyncio.to_thread(func, *args)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


# -- wiring into the app -----------------------------------------------------------------------------

_MANAGERS: weakref.WeakKeyDictionary[Any, KnowledgeIndexManager] = weakref.WeakKeyDictionary()
KNOWLEDGE_INDEX: ServiceKey[KnowledgeIndexManager] = ServiceKey(
    "the knowledge index", "kefu.knowledge.index.start_knowledge (create_app; a worker on first search)"
)


def start_knowledge(host: _Host) -> KnowledgeIndexManager:
    """Create (once) the node's index manager. Cheap: indexes are built on first use."""
    manager = host.services.find(KNOWLEDGE_INDEX)
    if manager is None:
        embedder = host.embedder or get_embedder()
        manager = host.services.install(
            KNOWLEDGE_INDEX, KnowledgeIndexManager(host.sessionmaker, host.bus, lambda: embedder)
        )
        _MANAGERS[host.bus] = manager
    return manager


async def stop_knowledge(host: _Host) -> None:
    manager = host.services.remove(KNOWLEDGE_INDEX)
    if manager is not None:
        _MANAGERS.pop(host.bus, None)
        await manager.stop()


async def search_knowledge(
    state: _Host,
    account_id: int,
    query: str,
    k: int = 5,
    *,
    language: str | None = None,
    session: AsyncSession | None = None,
    vector: np.ndarray | None = None,
) -> list[KnowledgeHit]:
    """Best published FAQ entries / articles of one account for `query`, best first.

    `language` keeps entries whose primary language subtag matches ("zh" matches "zh" and "zh-TW").
    `session`: pass yours if it may hold an open transaction (SQLite takes the write lock even for
    reads, so the first build of the index would otherwise wait for it). Works with an AppState
    (serve) or a JobContext (worker). `vector`: the query's embedding if the caller already computed it
    with the same configured embedder (the bot does, to embed each message once)."""
    return await start_knowledge(state).search(account_id, query, k, language, session, vector)


async def announce_entry(session: AsyncSession, account_id: int, kind: EntryKind, entry_id: int) -> None:
    """After a commit: apply the change on this node, then tell the other nodes."""
    await _announce(session, account_id, {"op": "entry", "kind": str(kind), "id": entry_id}, kind, entry_id)


async def announce_reconcile(session: AsyncSession, account_id: int) -> None:
    """After a bulk change (import): every node diffs its index against the database."""
    await _announce(session, account_id, {"op": "reconcile"}, None, None)


async def _announce(
    session: AsyncSession, account_id: int, message: dict[str, Any], kind: EntryKind | None, entry_id: int | None
) -> None:
    bus: EventBus | None = session.info.get(_BUS)
    if bus is None:
        return  # no app around (CLI seed): indexes catch up when they reconcile
    manager = _MANAGERS.get(bus)
    if manager is not None:
        try:
            if kind is not None and entry_id is not None:
                await manager.apply_entry(account_id, kind, entry_id)
            else:
                await manager.reconcile(account_id)
        except Exception:
            log.exception("local knowledge index update failed for account %s", account_id)
        message["origin"] = manager.node_id
    await bus.publish(knowledge_topic(account_id), message)


def _apply(acc: _AccountIndex, upserts: list[Indexed], removals: list[str]) -> None:
    """Runs in a worker thread while the account's index lock is held."""
    for doc_id in removals:
        if doc_id in acc.index:
            acc.index.remove(doc_id)
        acc.meta.pop(doc_id, None)
    for doc, meta in upserts:
        current = acc.meta.get(doc.id)
        if current is not None and current.version > meta.version:
            continue  # an older read lost the race; keep the newer version
        acc.index.upsert(doc)
        acc.meta[doc.id] = meta
    dense = acc.index.dense
    if dense.n_dead > 1000 and dense.n_dead > dense.n // 2:
        acc.index = HybridIndex.from_bytes(acc.index.to_bytes(), acc.embedder)  # drop tombstoned rows
    acc.answer_floor = acc.index.answer_floor(eligible=_is_faq)  # here, in this thread, not in a search


def _is_faq(doc_id: str) -> bool:
    """FAQ entries take part in the answer floor; an article's rows are paragraphs, not rewordings."""
    return doc_id.startswith(f"{EntryKind.FAQ}:")


def _hit(meta: EntryMeta, hit: Hit, floor: float | None) -> KnowledgeHit:
    answer = meta.answer
    if meta.kind == EntryKind.ARTICLE and hit.matched_text != meta.title:
        answer = documents.snippet(hit.matched_text)
    return KnowledgeHit(
        str(meta.kind),
        meta.id,
        meta.title,
        answer,
        hit.score,
        hit.bm25_score,
        hit.dense_score,
        hit.matched_text,
        meta.language,
        meta.category,
        hit.relative_score,
        floor,
    )
