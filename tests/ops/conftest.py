"""The operations tests' shared database: one per backend, as an install that began with the first release
has it — created at revision 0001 with that release's rows, migrated to head by `kefu migrate`, then used by
the current server (old rows read, new rows written through the API: files, knowledge, a second account).
The upgrade tests check it, the backup tests back it up and restore it; none of them writes to it."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kefu.core.migrate import upgrade
from tests.conftest import free_port
from tests.ops.legacy import insert_rows_at_0001, observe
from tests.ops.support import fill, kefu, scratch_database
from tests.support.factories import new_account
from tests.support.server import start_server


@dataclass
class History:
    url: str
    check_before: subprocess.CompletedProcess[str]  # `kefu migrate --check` at revision 0001
    served: dict[str, Any]  # what the current server answered about the old rows (tests.ops.legacy.observe)


def _migrated(kind: str, directory: Path, redis: str | None) -> Iterator[dict[str, Any]]:
    with scratch_database(kind, directory) as url:
        upgrade(url, "0001")
        asyncio.run(insert_rows_at_0001(url))
        before = kefu("migrate", "--check", database_url=url)
        done = kefu("migrate", database_url=url)
        assert done.returncode == 0, done.stderr
        yield {"name": kind, "database_url": url, "redis_url": redis, "check_before": before}


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _migrated("sqlite", tmp_path_factory.mktemp("history"), None)


@pytest.fixture(scope="session")
def migrated_postgres(
    pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """pg_url only makes the test skip (or fail, when services are required) without PostgreSQL; the
    database is a scratch one of its own, with Redis beside it as in scale-out mode."""
    yield from _migrated("postgres", tmp_path_factory.mktemp("history"), redis_url)


async def _used(migrated: dict[str, Any]) -> History:
    backend = {k: migrated[k] for k in ("name", "database_url", "redis_url")}
    prefix = f"kefu-ops-{uuid.uuid4().hex[:8]}:"
    async with start_server(backend, port=free_port(), redis_prefix=prefix) as server:
        served = await observe(server.base_url)
        async with new_account(server) as world:
            await fill(world)
    return History(migrated["database_url"], migrated["check_before"], served)


@pytest.fixture(scope="session")
async def history_sqlite(migrated_sqlite: dict[str, Any]) -> History:
    return await _used(migrated_sqlite)


@pytest.fixture(scope="session")
async def history_postgres(migrated_postgres: dict[str, Any]) -> History:
    return await _used(migrated_postgres)


@pytest.fixture(params=["sqlite", "postgres"])
def history(request: pytest.FixtureRequest) -> History:
    return request.getfixturevalue(f"history_{request.param}")  # type: ignore[no-any-return]
