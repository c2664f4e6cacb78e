"""Test fixtures: real databases, a real Redis, a real HTTP+WebSocket server on loopback.

Every test that takes `server` runs once per backend:
- `sqlite`: embedded mode (SQLite file, in-process bus and jobs);
- `postgres`: scale-out mode (PostgreSQL + Redis bus + a `kefu worker` process), when
  KEFU_TEST_DATABASE_URL and KEFU_TEST_REDIS_URL are set; the session creates its own database on that
  server and drops it at the end. With KEFU_TEST_REQUIRE_SERVICES=1 a missing service fails the run.

Tests never share rows: each creates its own account (tenant) through the real services.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kefu.auth.passwords import use_fast_hashing
from tests.support.server import LiveServer, start_server

use_fast_hashing()

PG_URL = os.environ.get("KEFU_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL")
REQUIRE = os.environ.get("KEFU_TEST_REQUIRE_SERVICES") == "1"


def _missing(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"KEFU_TEST_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kefu")


@pytest.fixture(scope="session")
def sqlite_url(tmp_root: Path) -> str:
    from kefu.core.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_root / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database for this test session on the configured server, dropped afterwards — so
    concurrent runs never see each other, and the migrations are exercised from scratch."""
    if not PG_URL:
        _missing("KEFU_TEST_DATABASE_URL is not set")
    assert PG_URL
    from kefu.core.migrate import upgrade

    name = f"kefu_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        _pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def quiet_database_url(backend: dict[str, str | None], tmp_root: Path) -> Iterator[str]:
    """A database of the backend's kind that no test server writes to, for tests whose assertions
    depend on every event id being theirs (the listeners' gap handling waits for ids other writers
    hold in flight or roll back)."""
    from kefu.core.migrate import upgrade

    if backend["name"] == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_root / 'quiet.db'}"
        upgrade(url)
        yield url
        return
    assert PG_URL
    name = f"kefu_quiet_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        _pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not REDIS_URL:
        _missing("KEFU_TEST_REDIS_URL is not set")
    assert REDIS_URL
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        _missing(f"Redis at {REDIS_URL} does not answer: {exc}")
    return REDIS_URL


def _pg_admin(url: str, sql: str) -> None:
    async def run() -> None:
        import asyncpg

        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            _missing(f"PostgreSQL at {dsn} does not answer: {exc}")
            return
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> dict[str, str | None]:
    if request.param == "sqlite":
        return {"name": "sqlite", "database_url": request.getfixturevalue("sqlite_url"), "redis_url": None}
    return {
        "name": "postgres",
        "database_url": request.getfixturevalue("pg_url"),
        "redis_url": request.getfixturevalue("redis_url"),
    }


@pytest.fixture
async def sessionmaker(backend: dict[str, str | None]) -> AsyncIterator[object]:
    """A sessionmaker on its own engine over the backend's database, for tests that call services and
    dispatchers directly (tests/events, tests/routing, tests/sla)."""
    from kefu.core.db import make_engine, make_sessionmaker

    url = backend["database_url"]
    assert url
    engine = make_engine(url, pool_size=10)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def server(backend: dict[str, str | None]) -> AsyncIterator[LiveServer]:
    prefix = f"kefu-test-{uuid.uuid4().hex[:8]}:"
    async with start_server(backend, port=free_port(), redis_prefix=prefix) as live:
        yield live


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[object]:
    """An admin of a brand-new account, talking to the live server over HTTP."""
    from tests.support.factories import new_account

    async with new_account(server) as world:
        yield world


@pytest.fixture(autouse=True)
def _no_leaked_clock() -> AsyncIterator[None] | None:  # type: ignore[misc]
    from kefu.core import clock

    yield None
    with contextlib.suppress(Exception):
        clock.freeze(None)


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own on a free loopback port (stopping it stops nobody else's)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=1)
    for _ in range(100):
        with contextlib.suppress(redis.ConnectionError):
            if client.ping():
                break
        time.sleep(0.05)
    client.close()
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
