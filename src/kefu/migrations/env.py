"""Alembic environment: runs the same migrations on SQLite and PostgreSQL (async drivers)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def _target_metadata():
    # Only autogenerate needs the models; migrations themselves never import app code.
    if config.attributes.get("autogenerate"):
        from kefu.models import Base

        return Base.metadata
    return None


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=_target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `kefu migrate`")
asyncio.run(_main())
