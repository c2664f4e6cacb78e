"""What the running app holds: built once by create_app, torn down on shutdown.

Plumbing is typed here (database, bus, jobs, limiter, hooks, the one embedder); the domains' own
services (the bot, the knowledge index, …) sit in `services`, each under the typed key its domain
declares (kefu.core.services; docs/architecture.md "Services on the app state")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kefu.core.bus import EventBus, make_bus
from kefu.core.db import make_engine, make_read_engine, make_sessionmaker
from kefu.core.embedding import embedder_from_settings
from kefu.core.hooks import Hooks
from kefu.core.jobs import JobContext, JobRunner, make_runner
from kefu.core.listeners import ListenerWaker
from kefu.core.ratelimit import RateLimiter, make_rate_limiter
from kefu.core.services import Services
from kefu.nlp.embed import Embedder
from kefu.settings import Settings

log = logging.getLogger("kefu.state")


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    jobs: JobRunner
    limiter: RateLimiter
    embedder: Embedder  # the process's one embedder (kefu.core.embedding)
    hooks: Hooks = field(default_factory=Hooks)
    services: Services = field(default_factory=Services)
    listener_waker: ListenerWaker | None = None
    # Read-only sessions for hot paths that must not queue behind writes (core.db.make_read_engine).
    read_engine: AsyncEngine = field(init=False)
    read_sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.read_engine = make_read_engine(
            self.settings.database_url, self.engine, timeout_s=self.settings.db_read_timeout_s
        )
        self.read_sessionmaker = (
            self.sessionmaker if self.read_engine is self.engine else make_sessionmaker(self.read_engine)
        )

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            bus=make_bus(settings.redis_url, settings.redis_prefix),
            jobs=make_runner(settings.redis_url, settings.redis_prefix),
            limiter=make_rate_limiter(settings.redis_url, settings.redis_prefix),
            embedder=embedder_from_settings(settings),
        )

    async def start(self) -> None:
        await self.bus.start()
        await self.jobs.start(
            JobContext(self.sessionmaker, self.bus, self.settings, services=self.services, embedder=self.embedder)
        )
        self.listener_waker = ListenerWaker(self.bus, self.jobs)
        await self.listener_waker.start()

    async def stop(self) -> None:
        """Every step runs even when one before it fails: with Redis gone mid-run the bus cannot close
        cleanly, and the database pool must still be closed."""
        steps: list[Callable[[], Awaitable[object]]] = [self.hooks.drain]
        if self.listener_waker is not None:
            steps.append(self.listener_waker.stop)
        steps += [self.jobs.stop, self.bus.stop]
        close = getattr(self.limiter, "close", None)
        if close is not None:
            steps.append(close)
        if self.read_engine is not self.engine:
            steps.append(self.read_engine.dispose)
        steps.append(self.engine.dispose)
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("shutdown: %s failed", getattr(step, "__qualname__", step))
