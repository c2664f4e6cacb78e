"""Knowledge search behind one interface: `SearchBackend`, and the per-account knowledge version.

A backend answers "the best published FAQ entries / articles of this account for this query". The one
kefu ships, `kefu.knowledge.index.InProcessSearch`, keeps a hybrid (BM25 + dense) index per account in
each app node's memory — a cache derived from the database rows. Whether a cache is current is decided by
the account's **knowledge version** (table `knowledge_search_versions`): every FAQ/article write bumps
it in the same transaction (`bump_version`), so a node compares one number with the database and
rebuilds what changed when they differ; pub/sub only makes that faster.

Every implementation passes tests/contracts/test_search_backend.py. How to add one (e.g. PostgreSQL
with pgvector and full-text search): docs/architecture.md#how-to-add-a-search-backend and
docs/adr/0006-search-backend.md.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.knowledge.documents import language_matches
from kefu.knowledge.models import SearchVersion
from kefu.knowledge.schemas import EntryKind
from kefu.nlp.embed import Embedder


@dataclass(frozen=True)
class KnowledgeHit:
    """One search result: what the bot's policy (kefu.bot.policy.HitLike) and the API read."""

    entry_kind: str  # "faq" | "article"
    entry_id: int
    title: str  # FAQ question or article title
    answer: str  # FAQ answer or an article snippet
    score: float  # fused (reciprocal-rank fusion of the two sides): orders hits
    bm25_score: float
    dense_score: float  # cosine
    matched_text: str  # the question variant / title / paragraph closest to the query
    language: str
    category: str
    relative_score: float = 0.0  # cosine minus the query's mean cosine to the other entries
    answer_floor: float | None = None  # the relative score this knowledge base's own rewordings reach


@dataclass(frozen=True)
class SearchFilters:
    """Which published entries may be returned. `language` compares primary subtags ("zh" matches "zh"
    and "zh-TW"); `kinds` None means FAQ entries and articles."""

    language: str | None = None
    kinds: Collection[EntryKind] | None = None

    @property
    def narrows(self) -> bool:
        return self.language is not None or self.kinds is not None

    def admits(self, kind: EntryKind | str, language: str) -> bool:
        if self.kinds is not None and EntryKind(kind) not in self.kinds:
            return False
        return language_matches(language, self.language)


NO_FILTERS = SearchFilters()


class SearchBackend(Protocol):
    """Knowledge search of one app node. Searches only ever return PUBLISHED entries of `account_id`."""

    @property
    def embedder(self) -> Embedder:
        """The embedder of the dense side; a `vector` passed to `search` must come from it."""
        ...

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
        """The best `k` hits, best first; [] for an empty query or k <= 0. Reflects every write of this
        node that has returned, and every other node's write within the backend's check interval.
        `session`: read through it when the backend must read the database (on SQLite a second session
        would wait for a caller that holds the write lock)."""
        ...

    async def invalidate(
        self, account_id: int, version: int, kind: EntryKind | None = None, entry_id: int | None = None
    ) -> None:
        """A write committed on this node and moved the account to knowledge `version`: reflect it before
        returning (read-your-writes). `kind`/`entry_id` name the one entry written; None: many (import)."""
        ...

    async def refresh(self, account_id: int, session: AsyncSession | None = None) -> int:
        """Catch up with the database now; returns the knowledge version now reflected."""
        ...

    def version(self, account_id: int) -> int | None:
        """The knowledge version this node's view of the account reflects (None: nothing cached)."""
        ...

    def warm_up(self, limit: int = 10) -> None:
        """Prepare the busiest accounts in the background (a no-op where nothing is cached)."""
        ...

    async def stop(self) -> None: ...


# -- the knowledge version -----------------------------------------------------------------------------


async def bump_version(session: AsyncSession, account_id: int) -> int:
    """Move the account's knowledge version on by one, in the caller's transaction; returns the new
    version. Call it in every transaction that changes FAQ entries or articles (knowledge.service does)."""
    now = clock.now()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(SearchVersion)
        .values(account_id=account_id, version=1, updated_at=now)
        .on_conflict_do_update(
            index_elements=[SearchVersion.account_id],
            set_={"version": SearchVersion.version + 1, "updated_at": now},
        )
        .returning(SearchVersion.version)
    )
    return int((await session.execute(stmt)).scalar_one())


async def read_version(session: AsyncSession, account_id: int) -> int:
    """The account's knowledge version in the database (0: its knowledge was never written)."""
    q = select(SearchVersion.version).where(SearchVersion.account_id == account_id)
    return int((await session.execute(q)).scalar_one_or_none() or 0)
