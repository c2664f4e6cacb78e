"""The in-process search backend: a hybrid (BM25 + dense) index per account in this node's memory.

The index is a cache derived from the database rows of PUBLISHED knowledge (`HybridIndex`,
kefu.nlp.retrieval), tagged with the account's knowledge version it reflects (kefu.knowledge.search):

- Built lazily from the database on an account's first search.
- A write on this node applies its change here before the request returns (`invalidate`, read-your-writes)
  and publishes `{"op": "entry", "version": ...}` on the bus topic `knowledge:{account_id}`; every other
  node with that account loaded applies the entry (or reconciles, when the version shows it missed one).
- Pub/sub is at-most-once, so before a search a node compares its version with the database's — at most
  once per `check_every_s` per account — and, when they differ, diffs (id, version) of the published
  entries against its index and applies the difference before searching. A node that missed every
  message therefore converges within `check_every_s`.
- Embedding is CPU-bound: it runs in worker threads (asyncio.to_thread), at most `threads` at a time;
  searches hold the account's index lock only for the scoring, never while embedding.

See docs/knowledge.md and docs/adr/0006-search-backend.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.bus import EventBus, Subscription
from kefu.knowledge import documents
from kefu.knowledge.documents import EntryMeta, Indexed
from kefu.knowledge.schemas import EntryKind
from kefu.knowledge.search import NO_FILTERS, KnowledgeHit, SearchFilters, read_version
from kefu.nlp.embed import Embedder
from kefu.nlp.retrieval import Hit, HybridIndex

log = logging.getLogger("kefu.knowledge.index")
T = TypeVar("T")
CHECK_EVERY_S = 1.0


def knowledge_topic(account_id: int) -> str:
    return f"knowledge:{account_id}"


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
    version: int = 0  # the account's knowledge version the index reflects
    checked_at: float = 0.0  # when the version was last compared with the database (monotonic)
    checking: asyncio.Task[None] | None = None
    answer_floor: float | None = None  # placed by _apply after edits; searches only read it


class InProcessSearch:
    """`SearchBackend` with one HybridIndex per account in this process (LRU, `max_accounts`)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        embedder: Callable[[], Embedder],
        *,
        threads: int = 2,
        max_accounts: int = 200,
        check_every_s: float = CHECK_EVERY_S,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.bus = bus
        self.node_id = uuid.uuid4().hex
        self.max_accounts = max_accounts
        self.check_every_s = check_every_s
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self._cpu = asyncio.Semaphore(threads)
        self._accounts: OrderedDict[int, _AccountIndex] = OrderedDict()
        self._loading: dict[int, asyncio.Task[_AccountIndex]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- SearchBackend -----------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    async def search(
        self,
        account_id: int,
        query: str,
        *,
        vector: np.ndarray | None = None,
        k: int = 5,
        filters: SearchFilters = NO_FILTERS,
        session: AsyncSession | None = None,
    ) -> list[KnowledgeHit]:
        query = query.strip()
        if not query or k <= 0:
            return []
        acc = await self._current(account_id, session)
        if vector is not None:
            qvec = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        else:
            qvec = await self._cpu_bound(self.embedder.embed_queries, [query])
        depth = max(4 * k, 20) if filters.narrows else k
        async with acc.index_lock:
            acc.embedder.queries[query] = qvec[0]
            try:
                hits = await asyncio.to_thread(acc.index.search, query, depth)
            finally:
                acc.embedder.queries.pop(query, None)
            metas = [acc.meta[h.doc_id] for h in hits]
        out = [
            _hit(m, h, acc.answer_floor) for m, h in zip(metas, hits, strict=True) if filters.admits(m.kind, m.language)
        ]
        return out[:k]

    async def invalidate(
        self, account_id: int, version: int, kind: EntryKind | None = None, entry_id: int | None = None
    ) -> None:
        acc = self._accounts.get(account_id)
        if acc is not None:
            try:
                await self._apply_change(account_id, acc, version, kind, entry_id)
            except Exception:
                log.exception("local knowledge index update failed for account %s", account_id)
                acc.checked_at = 0.0  # compare versions on next use
        message: dict[str, Any] = {"op": "entry" if kind is not None else "reconcile", "version": version}
        if kind is not None:
            message.update(kind=str(kind), id=entry_id)
        await self.bus.publish(knowledge_topic(account_id), {**message, "origin": self.node_id})

    async def refresh(self, account_id: int, session: AsyncSession | None = None) -> int:
        acc = self._accounts.get(account_id)
        if acc is None:
            acc = await self._ensure(account_id, session)
        else:
            await self._reconcile(account_id, acc, session)
        return acc.version

    def version(self, account_id: int) -> int | None:
        acc = self._accounts.get(account_id)
        return None if acc is None else acc.version

    def warm_up(self, limit: int = 10) -> None:
        """Build, in the background, the indexes of the accounts with the most recently edited published
        knowledge, so the first customer question after a start does not pay for embedding everything."""
        self._spawn(self._warm_up(limit))

    async def stop(self) -> None:
        for task in list(self._tasks) + list(self._loading.values()):
            task.cancel()
        for account_id in list(self._accounts):
            await self._evict(account_id)
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def loaded(self, account_id: int) -> bool:
        return account_id in self._accounts

    # -- loading and consistency -------------------------------------------------------------------

    async def _current(self, account_id: int, session: AsyncSession | None) -> _AccountIndex:
        """The account's index, brought up to the database's knowledge version if it was not compared
        with it for `check_every_s` (one waiting comparison per account; concurrent searches share it)."""
        acc = await self._ensure(account_id, session)
        if time.monotonic() - acc.checked_at >= self.check_every_s:
            if acc.checking is None:
                acc.checking = asyncio.ensure_future(self._check(account_id, acc, session))
                acc.checking.add_done_callback(lambda _t: setattr(acc, "checking", None))
            await asyncio.shield(acc.checking)
        return acc

    async def _check(self, account_id: int, acc: _AccountIndex, session: AsyncSession | None) -> None:
        acc.checked_at = time.monotonic()
        try:
            if session is not None:
                current = await read_version(session, account_id)
            else:
                async with self.sessionmaker() as own:
                    current = await read_version(own, account_id)
            if current != acc.version:
                await self._reconcile(account_id, acc, session)
        except Exception:  # serve the cached index; the next search compares again
            log.exception("knowledge version check for account %s failed", account_id)
            acc.checked_at = 0.0

    async def _ensure(self, account_id: int, session: AsyncSession | None = None) -> _AccountIndex:
        acc = self._accounts.get(account_id)
        if acc is not None:
            self._accounts.move_to_end(account_id)
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
        """Make the index hold exactly the published entries at their current versions, and take the
        account's knowledge version read just before (a write committed in between is re-checked later).

        `session`: read through the caller's session (on SQLite a second session would wait for the
        caller's write lock); otherwise a short session of our own."""
        async with acc.apply_lock:
            acc.checked_at = time.monotonic()
            if session is not None:
                version, (docs, gone) = await _read_diff(session, account_id, acc.meta)
            else:
                async with self.sessionmaker() as own:
                    version, (docs, gone) = await _read_diff(own, account_id, acc.meta)
            if docs or gone:
                await self._mutate(acc, upserts=docs, removals=gone)
            acc.version = max(acc.version, version)

    async def _apply_change(
        self, account_id: int, acc: _AccountIndex, version: int, kind: EntryKind | None, entry_id: int | None
    ) -> None:
        """Apply one entry when `version` is the next one (else, or for a bulk change, reconcile)."""
        if version <= acc.version:
            return  # already reflected
        if kind is None or entry_id is None or version != acc.version + 1:
            await self._reconcile(account_id, acc)
            return
        async with acc.apply_lock:
            async with self.sessionmaker() as session:
                found = await documents.load_published(session, account_id, kind, entry_id)
            if found is None:
                await self._mutate(acc, upserts=[], removals=[documents.doc_id(kind, entry_id)])
            else:
                await self._mutate(acc, upserts=[found], removals=[])
            if version == acc.version + 1:
                acc.version = version

    async def _read(self, account_id: int, acc: _AccountIndex) -> None:
        assert acc.subscription is not None
        async for message in acc.subscription:
            if message.get("origin") == self.node_id:
                continue  # applied locally before the write returned
            try:
                if message.get("op") == "entry" and "version" in message:
                    kind = EntryKind(message["kind"])
                    await self._apply_change(account_id, acc, int(message["version"]), kind, int(message["id"]))
                else:
                    await self._reconcile(account_id, acc)
            except Exception:
                log.exception("knowledge index update for account %s failed: %r", account_id, message)
                acc.checked_at = 0.0  # compare versions on next use

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


async def _read_diff(
    session: AsyncSession, account_id: int, held: dict[str, EntryMeta]
) -> tuple[int, tuple[list[Indexed], list[str]]]:
    version = await read_version(session, account_id)  # first: the diff below is at least this new
    return version, await documents.diff_published(session, account_id, held)


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
