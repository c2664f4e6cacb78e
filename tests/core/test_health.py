"""/healthz, /readyz and /metrics under each failed dependency (docs/operations.md "Health checks"): the
database down, the schema behind / ahead of / without migrations, Redis down mid-run (a Redis of the
test's own on a free port — never the machine's), no worker heartbeat, the job runner stopped, the
embedding model not loaded. /healthz stays 200 through all of them; /readyz names exactly what failed."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from alembic.script import ScriptDirectory

from kefu.core.embedding import embedder_from_settings
from kefu.core.migrate import alembic_config, upgrade
from kefu.core.readiness import head_revisions
from kefu.main import create_app
from kefu.nlp.embed import Embedder
from kefu.settings import Settings
from tests.conftest import free_port
from tests.support import server as live

TOKEN = "metrics-token-for-the-health-tests-0123456789"
HEAD = ", ".join(sorted(head_revisions()))
CHECKS = ["database", "migrations", "redis", "jobs", "embedder"]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """A loaded embedding model for the nodes these tests start (they test the other checks)."""
    model = embedder_from_settings(Settings(env="test"))
    assert model.dim == 384
    return model


@contextlib.asynccontextmanager
async def node(settings: Settings, embedder: Embedder | None) -> AsyncIterator[tuple[str, Any]]:
    """A kefu node on loopback whose dependencies may be broken (so: no wait for the listeners)."""
    app = create_app(settings)
    if embedder is not None:
        app.state.kefu.embedder = embedder
    config = uvicorn.Config(
        app, host="127.0.0.1", port=settings.port, log_level="critical", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield settings.base_url, app.state.kefu
    finally:
        server.should_exit = True
        await live._stopped(task)


def settings_for(database_url: str, redis_url: str | None = None, **extra: Any) -> Settings:
    port = free_port()
    backend = {"database_url": database_url, "redis_url": redis_url}
    extra = {"knowledge_warmup": False, "metrics_token": TOKEN, **extra}
    return live.test_settings(backend, port, f"kefu-health-{uuid.uuid4().hex[:8]}:", **extra)


async def probe(base: str) -> tuple[int, int, dict[str, Any], int, str]:
    """(/healthz status, /readyz status, /readyz body, /metrics status, /metrics text)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        started = time.monotonic()
        health = await c.get("/healthz")
        assert time.monotonic() - started < 2
        ready = await c.get("/readyz")
        scraped = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    body = ready.json()
    if ready.status_code == 503:  # the API's error body; its details are the readiness body
        assert set(body) == {"error"} and body["error"]["code"] == "unavailable"
        body = body["error"]["details"]
        assert ready.json()["error"]["message"] == "not ready: " + ", ".join(body["failed"])
        assert body["ready"] is False
    assert ready.headers["Cache-Control"] == "no-store"
    return health.status_code, ready.status_code, body, scraped.status_code, scraped.text


async def ready_within(base: str, timeout_s: float) -> dict[str, Any]:
    end = time.monotonic() + timeout_s
    while True:
        _, status, body, _, _ = await probe(base)
        if status == 200 or time.monotonic() > end:
            assert status == 200, body
            return body
        await asyncio.sleep(0.5)


async def test_a_healthy_node_is_live_and_ready(server: live.LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as c:
        health = await c.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"ok": True, "mode": "embedded" if server.backend == "sqlite" else "scale-out"}
    body = await ready_within(server.base_url, 120)  # the model loads in the background at start
    assert body["ready"] is True
    assert body["failed"] == []
    assert list(body["checks"]) == CHECKS
    assert all(c["ok"] for c in body["checks"].values())
    assert body["checks"]["migrations"]["detail"] == f"at head {HEAD}"
    if server.backend == "sqlite":
        assert body["checks"]["redis"]["detail"] == "not configured (embedded mode: in-process bus and jobs)"
    else:
        assert body["checks"]["redis"]["detail"] == "answers PING"
        assert body["checks"]["jobs"]["detail"].endswith("(kefu worker)")


async def test_database_down(embedder: Embedder) -> None:
    closed = free_port()
    url = f"postgresql+asyncpg://kefu:hunter2-secret@127.0.0.1:{closed}/kefu"
    async with node(settings_for(url), embedder) as (base, _):
        health, status, body, scraped, text = await probe(base)
    assert (health, status, scraped) == (200, 503, 200)
    assert body["failed"] == ["database", "migrations"]
    assert body["checks"]["database"]["detail"].startswith("ConnectionRefusedError: ")
    assert body["checks"]["migrations"]["detail"] == "not checked: the database does not answer"
    assert "hunter2" not in str(body)
    assert 'kefu_metrics_read_errors{source="database"} 1.0' in text
    assert "kefu_listener_lag_events{" not in text


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [s.revision for s in reversed(list(script.walk_revisions()))]


async def test_migrations_missing_behind_and_unknown(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "old.db"
    first = _revisions()[0]
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{path}", first)
    async with node(settings_for(f"sqlite+aiosqlite:///{path}"), embedder) as (base, _):
        health, status, behind, scraped, _ = await probe(base)
        assert (health, status, scraped) == (200, 503, 200)
        with sqlite3.connect(path) as db:
            db.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_kefu'")
        _, status, ahead, _, _ = await probe(base)
        assert status == 503
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM alembic_version")
        _, status, none, _, _ = await probe(base)
        assert status == 503
    assert behind["failed"] == ["migrations"]
    assert behind["checks"]["migrations"]["detail"] == (
        f"the database is at {first}, this code expects {HEAD}: run `kefu migrate`"
    )
    assert ahead["failed"] == ["migrations"]
    assert ahead["checks"]["migrations"]["detail"] == (
        "the database is at 9999_from_a_newer_kefu, which this code does not know (migrated by a newer kefu?)"
    )
    assert none["checks"]["migrations"]["detail"] == (
        f"no migrations applied (this code expects {HEAD}): run `kefu migrate`"
    )


async def test_the_job_runner_stopped(sqlite_url: str, embedder: Embedder) -> None:
    async with node(settings_for(sqlite_url), embedder) as (base, state):
        assert (await probe(base))[1] == 200
        await state.jobs.stop()
        health, status, body, scraped, _ = await probe(base)
    assert (health, status, scraped) == (200, 503, 200)
    assert body["failed"] == ["jobs"]
    assert body["checks"]["jobs"]["detail"] == "the in-process job runner is not running"


async def test_the_embedding_model_not_loaded_yet(sqlite_url: str) -> None:
    """A node started without warm-up loads the model when first asked, and is ready once it is."""
    async with node(settings_for(sqlite_url), None) as (base, state):
        assert state.embedder.loaded is False
        health, status, body, scraped, _ = await probe(base)
        assert (health, status, scraped) == (200, 503, 200)
        assert body["failed"] == ["embedder"]
        assert body["checks"]["embedder"] == {"ok": False, "detail": "the embedding model is loading", "ms": 0.0}
        await ready_within(base, 120)
        assert state.embedder.loaded is True


async def test_no_worker_then_redis_down_mid_run(
    pg_url: str, own_redis: tuple[str, subprocess.Popen[bytes]], embedder: Embedder
) -> None:
    redis_url, redis_proc = own_redis
    settings = settings_for(pg_url, redis_url)
    async with node(settings, embedder) as (base, _):
        health, status, body, scraped, _ = await probe(base)
        assert (health, status, scraped) == (200, 503, 200)
        assert body["failed"] == ["jobs"]
        assert body["checks"]["jobs"]["detail"] == "no `kefu worker` has reported in the last 15 s"
        worker = live.start_worker(settings)
        try:
            await ready_within(base, 60)
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
            health, status, body, scraped, text = await probe(base)
        finally:
            live.stop_process(worker)
    assert (health, status, scraped) == (200, 503, 200)
    assert body["failed"] == ["redis", "jobs"]
    assert body["checks"]["redis"]["detail"].startswith("ConnectionError: ")
    assert body["checks"]["database"]["ok"] is True
    assert 'kefu_metrics_read_errors{source="jobs"} 1.0' in text
    assert "kefu_job_queue_depth" not in text
