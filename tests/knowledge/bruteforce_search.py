"""A second SearchBackend, for the contract tests only: no cache at all — every search reads the account's
published entries from the database and scores every row exactly (cosine with the query). It proves the
contract in tests/contracts/test_search_backend.py is about behaviour, not about InProcessSearch."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.knowledge import documents
from kefu.knowledge.schemas import EntryKind
from kefu.knowledge.search import NO_FILTERS, KnowledgeHit, SearchFilters, read_version
from kefu.nlp.embed import Embedder


class BruteForceSearch:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], embedder: Embedder) -> None:
        self.sessionmaker = sessionmaker
        self._embedder = embedder
        self._versions: dict[int, int] = {}
        self._vectors: dict[str, np.ndarray] = {}  # passage text → vector (texts, not entries: no staleness)

    @property
    def embedder(self) -> Embedder:
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
        docs = await self._published(account_id, session)
        qvec = self.embedder.embed_queries([query])[0] if vector is None else np.asarray(vector, dtype=np.float32)
        scored = [self._score(doc, meta, qvec) for doc, meta in docs if filters.admits(meta.kind, meta.language)]
        scored.sort(key=lambda h: (-h.score, h.entry_kind, h.entry_id))
        return scored[:k]

    async def invalidate(
        self, account_id: int, version: int, kind: EntryKind | None = None, entry_id: int | None = None
    ) -> None:
        self._versions[account_id] = max(version, self._versions.get(account_id, 0))

    async def refresh(self, account_id: int, session: AsyncSession | None = None) -> int:
        await self._published(account_id, session)
        return self._versions[account_id]

    def version(self, account_id: int) -> int | None:
        return self._versions.get(account_id)

    def warm_up(self, limit: int = 10) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _published(self, account_id: int, session: AsyncSession | None) -> list[documents.Indexed]:
        context: Any = contextlib.nullcontext(session) if session is not None else self.sessionmaker()
        async with context as s:
            version = await read_version(s, account_id)
            docs, _ = await documents.diff_published(s, account_id, {})
        self._versions[account_id] = version
        return docs

    def _score(self, doc: Any, meta: documents.EntryMeta, qvec: np.ndarray) -> KnowledgeHit:
        texts = documents.texts_of(doc)
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.embedder.embed_passages(missing), strict=True))
        cosines = np.stack([self._vectors[t] for t in texts]) @ qvec
        best = int(np.argmax(cosines))
        matched, score = texts[best], float(cosines[best])
        answer = meta.answer
        if meta.kind == EntryKind.ARTICLE and matched != meta.title:
            answer = documents.snippet(matched)
        return KnowledgeHit(
            str(meta.kind), meta.id, meta.title, answer, score, 0.0, score, matched, meta.language, meta.category
        )
