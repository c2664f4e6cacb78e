"""The dependency checks behind `GET /readyz` and `kefu check`, and the scrape-time readings of `/metrics`
(docs/operations.md "Health checks").

Each check answers within `TIMEOUT_S` and never raises: a failure is a `Check` with `ok=False` and a
detail an operator can act on (credentials in URLs and error texts are masked by core/logs.py `redact`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from functools import lru_cache

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kefu.core import clock, metrics
from kefu.core.eventlog import Event
from kefu.core.jobs import HEARTBEAT_S, WORKER_KEY_TTL_S, JobRunner
from kefu.core.listeners_models import ListenerCursor
from kefu.core.logs import redact
from kefu.core.migrate import alembic_config

log = logging.getLogger("kefu.readiness")
TIMEOUT_S = 3.0
STALE_AFTER_S = 3 * HEARTBEAT_S  # a heartbeat older than this: the jobs are not being run


@dataclass(frozen=True)
class Check:
    name: str  # database | migrations | redis | jobs | embedder
    ok: bool
    detail: str
    ms: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "name"}


def _failure(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_S:g} s"
    message = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")[:300]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


async def _timed(name: str, work: Awaitable[str]) -> Check:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(work, TIMEOUT_S)
        ok = True
    except Exception as exc:  # a check reports, never raises
        detail, ok = _failure(exc), False
    return Check(name, ok, detail, round((time.perf_counter() - started) * 1000, 2))


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The migration heads this code ships (read once from the migration scripts)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(s.revision for s in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions())


def migration_problem(current: set[str]) -> str | None:
    """Why a database at revisions `current` does not fit this code, or None when it is at head."""
    heads = head_revisions()
    if current == set(heads):
        return None
    want = ", ".join(sorted(heads))
    if not current:
        return f"no migrations applied (this code expects {want}): run `kefu migrate`"
    unknown = current - known_revisions()
    have = ", ".join(sorted(current))
    if unknown:
        return f"the database is at {have}, which this code does not know (migrated by a newer kefu?)"
    return f"the database is at {have}, this code expects {want}: run `kefu migrate`"


async def current_revisions(engine: AsyncEngine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads()))


async def check_database(engine: AsyncEngine) -> list[Check]:
    """Two checks: the database answers `SELECT 1`; its schema is at this code's migration head."""

    async def reachable() -> str:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return f"{engine.dialect.name} answers"

    database = await _timed("database", reachable())
    if not database.ok:
        return [database, Check("migrations", False, "not checked: the database does not answer")]

    async def at_head() -> str:
        problem = migration_problem(await current_revisions(engine))
        if problem:
            raise RuntimeError(problem)
        return "at head " + ", ".join(sorted(head_revisions()))

    migrations = await _timed("migrations", at_head())
    if not migrations.ok:  # the RuntimeError's own words, not "RuntimeError: …"
        migrations = Check("migrations", False, migrations.detail.removeprefix("RuntimeError: "), migrations.ms)
    return [database, migrations]


async def check_redis(url: str | None) -> Check:
    if not url:
        return Check("redis", True, "not configured (embedded mode: in-process bus and jobs)")

    async def ping() -> str:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
        try:
            await client.ping()
        finally:
            await client.aclose()
        return "answers PING"

    return await _timed("redis", ping())


async def check_jobs(runner: JobRunner, *, embedded: bool) -> Check:
    """The in-process runner's heartbeat (embedded), or a `kefu worker`'s heartbeat in Redis (scale-out)."""
    missing = (
        "the in-process job runner is not running"
        if embedded
        else f"no `kefu worker` has reported in the last {WORKER_KEY_TTL_S:g} s"
    )

    async def fresh() -> str:
        age = await runner.heartbeat_age_s()
        if age is None:
            raise RuntimeError(missing)
        if age > STALE_AFTER_S:
            raise RuntimeError(f"the last heartbeat is {age:.0f} s old (stale after {STALE_AFTER_S:g} s)")
        return f"heartbeat {age:.1f} s ago" + ("" if embedded else " (kefu worker)")

    check = await _timed("jobs", fresh())
    return check if check.ok else Check("jobs", False, check.detail.removeprefix("RuntimeError: "), check.ms)


_loading_lock = threading.Lock()
_loading: set[int] = set()


def check_embedder(embedder: object) -> Check:
    """Whether the embedding model is loaded. When it is not, loading starts in a thread (once), so a node
    started without warm-up becomes ready by itself rather than on its first customer message."""
    loaded = getattr(embedder, "loaded", True)
    if loaded:
        return Check("embedder", True, "loaded")
    with _loading_lock:
        if id(embedder) not in _loading:
            _loading.add(id(embedder))
            threading.Thread(target=_load, args=(embedder,), name="kefu-embedder-load", daemon=True).start()
    return Check("embedder", False, "the embedding model is loading")


def _load(embedder: object) -> None:
    try:
        _ = embedder.dim  # type: ignore[attr-defined]  # builds the model
    except Exception:
        log.exception("the embedding model could not be loaded")
    finally:
        with _loading_lock:
            _loading.discard(id(embedder))


# ---- /metrics: what is read at scrape time -------------------------------------------------------


async def read_snapshot(sessionmaker: async_sessionmaker[AsyncSession], runner: JobRunner) -> metrics.Snapshot:
    snap = metrics.Snapshot()
    try:
        stats = await asyncio.wait_for(runner.queue_stats(), TIMEOUT_S)
        snap.queue_depth, snap.queue_lag_s = stats.depth, stats.lag_s
        snap.errors["jobs"] = 0
    except Exception as exc:
        log.warning("metrics: the job queue could not be read: %s", _failure(exc))
        snap.errors["jobs"] = 1
    try:
        await asyncio.wait_for(_read_listeners(sessionmaker, snap), TIMEOUT_S)
        snap.errors["database"] = 0
    except Exception as exc:
        log.warning("metrics: the listener cursors could not be read: %s", _failure(exc))
        snap.errors["database"] = 1
    return snap


async def _read_listeners(sessionmaker: async_sessionmaker[AsyncSession], snap: metrics.Snapshot) -> None:
    """Per listener: the events after its cursor, and the age of the first of them (one statement)."""
    first_after = (
        select(Event.created_at)
        .where(Event.id > ListenerCursor.last_event_id)
        .order_by(Event.id)
        .limit(1)
        .correlate(ListenerCursor)
        .scalar_subquery()
    )
    async with sessionmaker() as session:
        newest = int((await session.execute(select(func.max(Event.id)))).scalar() or 0)
        rows = (await session.execute(select(ListenerCursor.name, ListenerCursor.last_event_id, first_after))).all()
    now = clock.now()
    for name, cursor, oldest in rows:
        snap.listener_lag_events[name] = max(0, newest - int(cursor))
        snap.listener_lag_s[name] = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
