"""A real kefu server (uvicorn) on a loopback port, in the test's event loop; in scale-out mode an
arq worker runs beside it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from kefu.core.state import AppState
from kefu.main import create_app
from kefu.settings import Settings


@dataclass
class LiveServer:
    base_url: str
    ws_url: str
    settings: Settings
    state: AppState
    backend: str


def test_settings(backend: dict[str, Any], port: int, redis_prefix: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": backend["database_url"],
        "redis_url": backend["redis_url"],
        "redis_prefix": redis_prefix,
        "secret_key": "test-secret-" + redis_prefix,
        "base_url": f"http://127.0.0.1:{port}",
        "port": port,
        "login_max_attempts": 5,
        "trusted_proxies": "127.0.0.1",  # tests name their client with X-Forwarded-For
        "widget_visitors_per_ip": 100_000,  # every test's visitors come from 127.0.0.1
        "demo": True,
        "email_poll_s": 3600,  # tests poll email inboxes themselves (tests/channels/email)
        "webhook_retry_delays_s": "0.3,0.6",  # three attempts in all, within a second (tests/webhooks)
        "webhook_timeout_s": 2.0,
    }
    return Settings(**{**values, **extra})


@contextlib.asynccontextmanager
async def start_server(
    backend: dict[str, Any], *, port: int, redis_prefix: str, **extra: Any
) -> AsyncIterator[LiveServer]:
    settings = test_settings(backend, port, redis_prefix, **extra)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        ws_ping_interval=settings.ws_ping_s or None,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        ws_per_message_deflate=settings.ws_deflate,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    worker = start_worker(settings) if settings.redis_url else None
    try:
        await _listeners_ready(app.state.kefu)
        yield LiveServer(
            f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", settings, app.state.kefu, backend["name"]
        )
    finally:
        if worker is not None:
            stop_process(worker)
        server.should_exit = True
        await _stopped(task)


async def _stopped(task: asyncio.Task[None], timeout_s: float = 30.0) -> None:
    """Wait for the server to stop; past `timeout_s` print what is still running (to find what holds a
    shutdown) and cancel it, so one stuck shutdown cannot hang the whole run."""
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if done:
        task.result()
        return
    print(f"\nthe test server did not stop within {timeout_s} s; still running:", file=sys.stderr)
    for other in asyncio.all_tasks():
        if other is not asyncio.current_task():
            other.print_stack(limit=6, file=sys.stderr)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _listeners_ready(state: Any, timeout_s: float = 60.0) -> None:
    """Wait until every durable listener has its cursor (the worker's or the in-process runner's first
    dispatch makes them): a listener that starts at the newest event would otherwise miss what the first
    test writes while the worker is still starting."""
    from sqlalchemy import select

    from kefu.core.listeners import LISTENERS
    from kefu.core.listeners_models import ListenerCursor

    names = {spec.name for spec in LISTENERS}
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        async with state.sessionmaker() as session:
            have = set((await session.execute(select(ListenerCursor.name))).scalars())
        if names <= have:
            return
        if loop.time() > end:
            raise AssertionError(f"listeners without a cursor after {timeout_s} s: {sorted(names - have)}")
        await asyncio.sleep(0.1)


def settings_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "KEFU_ENV": settings.env,
            "KEFU_DATABASE_URL": settings.database_url,
            "KEFU_REDIS_URL": settings.redis_url or "",
            "KEFU_REDIS_PREFIX": settings.redis_prefix,
            "KEFU_SECRET_KEY": settings.secret_key,
            "KEFU_BASE_URL": settings.base_url,
            "KEFU_TRUSTED_PROXIES": settings.trusted_proxies,
            "KEFU_DEMO": "1" if settings.demo else "0",
            "KEFU_WEBHOOK_RETRY_DELAYS_S": settings.webhook_retry_delays_s,
            "KEFU_WEBHOOK_TIMEOUT_S": str(settings.webhook_timeout_s),
        }
    )
    return env


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """`kefu worker` as its own process, as in production."""
    fd, _path = tempfile.mkstemp(prefix="kefu-worker-", suffix=".log")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu.cli", "worker"], env=settings_env(settings), stdout=fd, stderr=subprocess.STDOUT
    )
    os.close(fd)
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
