"""Migrations: reversible, and the models have no drift from them (empty autogenerate diff)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kefu.core.db import make_engine
from kefu.core.migrate import downgrade, upgrade
from kefu.models import Base


def _diff_and_tables(url: str) -> tuple[list[object], set[str]]:
    async def run() -> tuple[list[object], set[str]]:
        engine = make_engine(url)
        async with engine.connect() as conn:

            def check(sync_conn):  # type: ignore[no-untyped-def]
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(ctx, Base.metadata), set(inspect(sync_conn).get_table_names())

            result = await conn.run_sync(check)
        await engine.dispose()
        return result

    return asyncio.run(run())


def test_sqlite_upgrade_downgrade_upgrade_and_no_drift(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    diff, tables = _diff_and_tables(url)
    assert tables == {"alembic_version"}
    upgrade(url)
    diff, tables = _diff_and_tables(url)
    assert diff == []
    assert {"accounts", "users", "conversations", "messages", "events", "contact_identities"} <= tables


def test_postgres_has_no_drift(pg_url: str) -> None:
    diff, _ = _diff_and_tables(pg_url)
    assert diff == []
