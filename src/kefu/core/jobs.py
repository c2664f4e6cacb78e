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
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core import metrics
from kefu.core.bus import EventBus
from kefu.core.embedding import embedder_from_settings
from kefu.core.logs import REQUEST_ID
from kefu.core.services import Services
from kefu.nlp.embed import Embedder
from kefu.settings import Settings

log = logging.getLogger("kefu.jobs")
job_log = logging.getLogger("kefu.job")  # one line per job run (docs/operations.md "Logs")
REQUEST_ID_KWARG = "kefu_request_id"  # a queued job carries its request's id in this keyword (ArqRunner)
HEARTBEAT_S = 5.0  # the in-process runner beats this often; `kefu worker` records its health key as often
WORKER_KEY_TTL_S = 3 * HEARTBEAT_S  # the worker's health key outlives two missed beats (a busy loop is no outage)


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


@dataclass(frozen=True)
class QueueStats:
    depth: int  # jobs due and not finished
    lag_s: float  # how long the oldest of them has waited past its due time


class JobRunner(Protocol):
    async def start(self, ctx: JobContext) -> None: ...

    async def stop(self) -> None: ...

    async def enqueue(self, name: str, *, delay_s: float | None = None, **kwargs: Any) -> str: ...

    async def heartbeat_age_s(self) -> float | None:
        """Seconds since whatever runs the jobs last showed it is alive; None: nothing runs them."""
        ...

    async def queue_stats(self) -> QueueStats: ...


_CURRENT_JOB: ContextVar[str | None] = ContextVar("kefu_current_job", default=None)


def current_job() -> str | None:
    """The name of the job the caller runs in (None outside jobs): lets diagnostics tell a background job's
    database work from a request's."""
    return _CURRENT_JOB.get()


async def run_job(ctx: JobContext, name: str, kwargs: dict[str, Any], job_id: str | None = None) -> Any:
    """Run one job: counted and timed (core/metrics.py) and logged as one `kefu.job` line, under the request
    id it was queued with (a queued job's `kefu_request_id` keyword; an in-process job inherits it)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown job {name!r}")
    request_id = kwargs.pop(REQUEST_ID_KWARG, None)
    rid_token = REQUEST_ID.set(request_id) if request_id else None
    token = _CURRENT_JOB.set(name)
    started = time.perf_counter()
    ok = False
    try:
        result = await REGISTRY[name](ctx, **kwargs)
        ok = True
        return result
    finally:
        seconds = time.perf_counter() - started
        metrics.job_ran(name, ok, seconds)
        status = "ok" if ok else "failed"
        extra = {
            "request_id": REQUEST_ID.get(),
            "job": name,
            "job_id": job_id,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        job_log.info("job", extra=extra)
        _CURRENT_JOB.reset(token)
        if rid_token is not None:
            REQUEST_ID.reset(rid_token)


class InProcessRunner:
    def __init__(self, run_periodic: bool = True) -> None:
        self.run_periodic = run_periodic
        self._ctx: JobContext | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._beat: float | None = None  # monotonic time of the last heartbeat; None: not running
        self._due: dict[str, float] = {}  # job id → monotonic due time, until the job finishes

    async def start(self, ctx: JobContext) -> None:
        self._ctx = ctx
        ctx.runner = self
        self._beat = time.monotonic()
        self._spawn(self._heartbeat())
        if self.run_periodic:
            for spec in PERIODIC.values():
                self._spawn(self._loop(spec))

    async def stop(self) -> None:
        self._beat = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def enqueue(self, name: str, *, delay_s: float | None = None, **kwargs: Any) -> str:
        if name not in REGISTRY:
            raise KeyError(f"unknown job {name!r}")
        job_id = uuid.uuid4().hex
        self._spawn(self._run_later(name, delay_s or 0.0, kwargs, job_id))
        return job_id

    async def heartbeat_age_s(self) -> float | None:
        return None if self._beat is None else time.monotonic() - self._beat

    async def queue_stats(self) -> QueueStats:
        now = time.monotonic()
        due = [at for at in self._due.values() if at <= now]
        return QueueStats(len(due), max(0.0, now - min(due)) if due else 0.0)

    async def _heartbeat(self) -> None:
        """Beats while the event loop runs the runner's tasks (a blocked loop or a stopped runner stops it)."""
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(HEARTBEAT_S)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_later(self, name: str, delay_s: float, kwargs: dict[str, Any], job_id: str | None = None) -> None:
        job_id = job_id or uuid.uuid4().hex
        self._due[job_id] = time.monotonic() + delay_s
        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            assert self._ctx is not None
            await run_job(self._ctx, name, kwargs, job_id)
        except Exception:
            log.exception("job %s failed", name)
        finally:
            self._due.pop(job_id, None)

    async def _loop(self, spec: Periodic) -> None:
        while True:
            await asyncio.sleep(spec.every_s)
            token = REQUEST_ID.set(None)  # a periodic run is no request's work
            try:
                await self._run_later(spec.name, 0.0, {})
            finally:
                REQUEST_ID.reset(token)


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
        request_id = REQUEST_ID.get()
        if request_id:
            kwargs[REQUEST_ID_KWARG] = request_id
        job = await self._pool.enqueue_job(name, _defer_by=delay_s, **kwargs)
        return str(job.job_id) if job is not None else ""

    @property
    def health_key(self) -> str:
        """Where `kefu worker` records that it is alive: a key it sets every HEARTBEAT_S to live
        WORKER_KEY_TTL_S, and deletes when it stops (core.worker.beat)."""
        return self.queue_name.removesuffix("queue") + "worker:alive"

    async def heartbeat_age_s(self) -> float | None:
        """How long ago a worker last wrote the health key (from its remaining life); None when none has
        written it in the last WORKER_KEY_TTL_S."""
        ttl_ms = await self._pool.pttl(self.health_key)
        if ttl_ms is None or ttl_ms < 0:
            return None
        return max(0.0, WORKER_KEY_TTL_S - ttl_ms / 1000)

    async def queue_stats(self) -> QueueStats:
        """arq's queue is a sorted set scored by each job's due time (ms); a job stays in it while it runs."""
        now_ms = time.time() * 1000
        due = await self._pool.zrangebyscore(self.queue_name, "-inf", now_ms, start=0, num=1, withscores=True)
        depth = await self._pool.zcount(self.queue_name, "-inf", now_ms)
        lag = max(0.0, (now_ms - float(due[0][1])) / 1000) if due else 0.0
        return QueueStats(int(depth), lag)


def make_runner(redis_url: str | None, prefix: str = "kefu:") -> JobRunner:
    return ArqRunner(redis_url, prefix + "queue") if redis_url else InProcessRunner()
