"""Background jobs behind one interface.

- `InProcessRunner` (embedded mode): asyncio tasks in the serving process, plus a loop for periodic jobs.
- `ArqRunner` (scale-out): enqueues into Redis through arq; `kefu worker` runs the jobs and periodic jobs.

Jobs are registered with `@job("name")` and receive a `JobContext` plus keyword arguments. Periodic jobs
are registered with `@periodic("name", every_s=...)`; their state lives in the database, so a missed run
(restart, node change) is caught up by the next one. The modules that register jobs are imported by the
application (`kefu.main.register_jobs`, an explicit list), never by core: core sits below the domains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.bus import EventBus
from kefu.core.embedding import embedder_from_settings
from kefu.core.services import Services
from kefu.nlp.embed import Embedder
from kefu.settings import Settings

log = logging.getLogger("kefu.jobs")


@dataclass
class JobContext:
    """What a job runs with. In `kefu serve` it shares the app state's services and embedder; in
    `kefu worker` it has its own, the embedder built from the worker's Settings."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    settings: Settings
    runner: JobRunner | None = None
    services: Services = field(default_factory=Services)
    embedder: Embedder | None = None  # None: built from `settings`

    def __post_init__(self) -> None:
        if self.embedder is None and self.settings is not None:
            self.embedder = embedder_from_settings(self.settings)


JobFunc = Callable[..., Awaitable[Any]]
REGISTRY: dict[str, JobFunc] = {}


@dataclass(frozen=True)
class Periodic:
    name: str
    every_s: int


PERIODIC: dict[str, Periodic] = {}


def job(name: str) -> Callable[[JobFunc], JobFunc]:
    def register(func: JobFunc) -> JobFunc:
        REGISTRY[name] = func
        return func

    return register


def periodic(name: str, every_s: int) -> Callable[[JobFunc], JobFunc]:
    if not (every_s < 60 and 60 % every_s == 0) and not (every_s % 60 == 0 and 3600 % every_s == 0):
        raise ValueError("every_s must divide a minute or an hour evenly")

    def register(func: JobFunc) -> JobFunc:
        REGISTRY[name] = func
        PERIODIC[name] = Periodic(name, every_s)
        return func

    return register


class JobRunner(Protocol):
    async def start(self, ctx: JobContext) -> None: ...

    async def stop(self) -> None: ...

    async def enqueue(self, name: str, *, delay_s: float | None = None, **kwargs: Any) -> str: ...


_CURRENT_JOB: ContextVar[str | None] = ContextVar("kefu_current_job", default=None)


def current_job() -> str | None:
    """The name of the job the caller runs in (None outside jobs): lets diagnostics tell a background job's
    database work from a request's."""
    return _CURRENT_JOB.get()


async def run_job(ctx: JobContext, name: str, kwargs: dict[str, Any]) -> Any:
    if name not in REGISTRY:
        raise KeyError(f"unknown job {name!r}")
    token = _CURRENT_JOB.set(name)
    try:
        return await REGISTRY[name](ctx, **kwargs)
    finally:
        _CURRENT_JOB.reset(token)


class InProcessRunner:
    def __init__(self, run_periodic: bool = True) -> None:
        self.run_periodic = run_periodic
        self._ctx: JobContext | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, ctx: JobContext) -> None:
        self._ctx = ctx
        ctx.runner = self
        if self.run_periodic:
            for spec in PERIODIC.values():
                self._spawn(self._loop(spec))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def enqueue(self, name: str, *, delay_s: float | None = None, **kwargs: Any) -> str:
        if name not in REGISTRY:
            raise KeyError(f"unknown job {name!r}")
        job_id = uuid.uuid4().hex
        self._spawn(self._run_later(name, delay_s or 0.0, kwargs))
        return job_id

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_later(self, name: str, delay_s: float, kwargs: dict[str, Any]) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        assert self._ctx is not None
        try:
            await run_job(self._ctx, name, kwargs)
        except Exception:
            log.exception("job %s failed", name)

    async def _loop(self, spec: Periodic) -> None:
        while True:
            await asyncio.sleep(spec.every_s)
            await self._run_later(spec.name, 0.0, {})


class ArqRunner:
    """Enqueue side of the Redis-backed queue (arq). Jobs run in `kefu worker`."""

    def __init__(self, redis_url: str, queue_name: str = "kefu:queue") -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name
        self._pool: Any = None

    async def start(self, ctx: JobContext) -> None:
        from arq import create_pool
        from arq.connections import RedisSettings

        ctx.runner = self
        self._pool = await create_pool(RedisSettings.from_dsn(self.redis_url), default_queue_name=self.queue_name)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def enqueue(self, name: str, *, delay_s: float | None = None, **kwargs: Any) -> str:
        if name not in REGISTRY:
            raise KeyError(f"unknown job {name!r}")
        job = await self._pool.enqueue_job(name, _defer_by=delay_s, **kwargs)
        return str(job.job_id) if job is not None else ""


def make_runner(redis_url: str | None, prefix: str = "kefu:") -> JobRunner:
    return ArqRunner(redis_url, prefix + "queue") if redis_url else InProcessRunner()
