"""`kefu worker`: runs queued and periodic jobs from Redis through arq (scale-out mode)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Function, Worker, func

from kefu.core import metrics
from kefu.core.bus import make_bus
from kefu.core.db import make_engine, make_sessionmaker
from kefu.core.jobs import (
    HEARTBEAT_S,
    PERIODIC,
    REGISTRY,
    WORKER_KEY_TTL_S,
    ArqRunner,
    JobContext,
    Periodic,
    run_job,
)
from kefu.settings import Settings

log = logging.getLogger(__name__)


def _arq_function(name: str) -> Function:
    async def call(ctx: dict[str, Any], **kwargs: Any) -> Any:
        return await run_job(ctx["kefu"], name, kwargs, ctx.get("job_id"))

    call.__qualname__ = call.__name__ = name.replace(".", "_")
    return func(call, name=name)


def _arq_cron(spec: Periodic) -> Any:
    async def call(ctx: dict[str, Any]) -> Any:
        return await run_job(ctx["kefu"], spec.name, {}, ctx.get("job_id"))

    call.__qualname__ = call.__name__ = "cron_" + spec.name.replace(".", "_")
    if spec.every_s < 60:
        return cron(call, name="cron:" + spec.name, second=set(range(0, 60, spec.every_s)))
    return cron(call, name="cron:" + spec.name, minute=set(range(0, 60, spec.every_s // 60)), second={0})


async def beat(redis: Any, key: str) -> None:
    """The worker's heartbeat for /readyz (`ArqRunner.heartbeat_age_s`): a key set every HEARTBEAT_S that
    lives WORKER_KEY_TTL_S. Its own task, so jobs that keep the worker busy do not make it look dead."""
    while True:
        try:
            await redis.set(key, "1", px=int(WORKER_KEY_TTL_S * 1000))
        except Exception as exc:  # Redis is down: the key expires, /readyz says so; keep trying
            log.warning("worker heartbeat failed: %s", exc)
        await asyncio.sleep(HEARTBEAT_S)


def build_worker(settings: Settings, *, handle_signals: bool = True) -> Worker:
    """The arq worker for the jobs registered so far: the caller imports the job modules first
    (`kefu.main.register_jobs`; `kefu worker` does)."""
    if not settings.redis_url:
        raise SystemExit("kefu worker needs KEFU_REDIS_URL (embedded mode runs jobs inside `kefu serve`)")
    engine = make_engine(settings.database_url, pool_size=4)

    async def startup(ctx: dict[str, Any]) -> None:
        bus = make_bus(settings.redis_url, settings.redis_prefix)
        await bus.start()
        runner = ArqRunner(settings.redis_url or "", settings.redis_prefix + "queue")
        kctx = JobContext(make_sessionmaker(engine), bus, settings)
        await runner.start(kctx)
        ctx["kefu"] = kctx
        ctx["kefu_runner"] = runner
        ctx["kefu_beat"] = asyncio.create_task(beat(ctx["redis"], runner.health_key))

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["kefu_beat"].cancel()
        with contextlib.suppress(BaseException):
            await ctx["kefu_beat"]
        with contextlib.suppress(Exception):
            await ctx["redis"].delete(ctx["kefu_runner"].health_key)  # stopped: not ready at once
        await ctx["kefu_runner"].stop()
        await ctx["kefu"].bus.stop()
        await engine.dispose()
        metrics.process_exiting()

    return Worker(
        functions=[_arq_function(n) for n in REGISTRY],
        cron_jobs=[_arq_cron(p) for p in PERIODIC.values()],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=handle_signals,
        queue_name=settings.redis_prefix + "queue",
        health_check_key=settings.redis_prefix + "health",
        poll_delay=0.1,
    )


def run_worker(settings: Settings) -> None:
    worker = build_worker(settings)
    worker.run()  # arq owns the event loop it was built with; SIGINT/SIGTERM stop it gracefully
