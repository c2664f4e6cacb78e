"""The knowledge search backend of one app node: created with the node, held on its state, reached by
the node's sessions so that a write refreshes it before the request returns.

- `start_search(host)` builds the backend (kefu ships `InProcessSearch`) and binds it to the host's
  sessionmaker: every session of this node carries it in `session.info`.
- `after_write(session, ...)`: knowledge.service calls it after each commit with the account's new
  knowledge version; the node's backend reflects the change at once and tells the other nodes. Sessions
  without a backend (CLI, a worker process) do nothing here: every node sees the version move on its next
  check.
- `search_backend(host)` / `search_knowledge(host, ...)`: what the API, the bot and the suggestions use.

`host` is an AppState (serve) or a JobContext (worker): both have sessionmaker, bus, settings, services
and the process's one embedder.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.bus import EventBus
from kefu.core.services import ServiceKey, Services
from kefu.knowledge.index import InProcessSearch
from kefu.knowledge.schemas import EntryKind
from kefu.knowledge.search import KnowledgeHit, SearchBackend, SearchFilters
from kefu.nlp.embed import Embedder, get_embedder

log = logging.getLogger("kefu.knowledge.search")
SESSION_KEY = "kefu_knowledge_search"
KNOWLEDGE_INDEX: ServiceKey[SearchBackend] = ServiceKey(
    "the knowledge search backend", "kefu.knowledge.search_node.start_search (create_app; a worker on first search)"
)


class _Host(Protocol):
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    settings: Any
    services: Services

    @property
    def embedder(self) -> Embedder | None: ...  # the process's one embedder (None: kefu.nlp's default)


def search_backend(host: _Host) -> SearchBackend:
    """The node's search backend (created on first use)."""
    backend = _held(host)
    return backend if backend is not None else start_search(host)


def start_search(host: _Host, backend: SearchBackend | None = None) -> SearchBackend:
    """Create (once) the node's backend — `backend`, or the in-process one — and bind it to the node's
    sessions. Cheap: indexes are built on first use."""
    existing = _held(host)
    if existing is not None:
        return existing
    if backend is None:
        embedder = host.embedder or get_embedder()
        backend = InProcessSearch(host.sessionmaker, host.bus, lambda: embedder)
    host.services.install(KNOWLEDGE_INDEX, backend)
    _bind(host.sessionmaker, backend)
    return backend


async def stop_search(host: _Host) -> None:
    backend = host.services.remove(KNOWLEDGE_INDEX)
    if backend is not None:
        _bind(host.sessionmaker, None)
        await backend.stop()


async def search_knowledge(
    host: _Host,
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
    reads, so the first build of the index would otherwise wait for it). `vector`: the query's embedding
    if the caller already computed it with the configured embedder (the bot does, to embed each message
    once)."""
    filters = SearchFilters(language=language)
    return await search_backend(host).search(account_id, query, vector=vector, k=k, filters=filters, session=session)


async def after_write(
    session: AsyncSession, account_id: int, version: int, kind: EntryKind | None = None, entry_id: int | None = None
) -> None:
    """After a commit that moved the account to knowledge `version` (see SearchBackend.invalidate)."""
    backend: SearchBackend | None = session.info.get(SESSION_KEY)
    if backend is None:
        return
    try:
        await backend.invalidate(account_id, version, kind, entry_id)
    except Exception:  # the write is committed; the nodes converge on the version
        log.exception("telling the search backend about account %s's version %s failed", account_id, version)


def _held(host: _Host) -> SearchBackend | None:
    return host.services.find(KNOWLEDGE_INDEX)


def _bind(sessionmaker: async_sessionmaker[AsyncSession], backend: SearchBackend | None) -> None:
    info = {k: v for k, v in (sessionmaker.kw.get("info") or {}).items() if k != SESSION_KEY}
    if backend is not None:
        info[SESSION_KEY] = backend
    sessionmaker.configure(info=info)
