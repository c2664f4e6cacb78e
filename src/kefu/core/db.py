"""Database plumbing: declarative Base, portable column types, engine and session factory.

The same models and migrations run on SQLite (embedded) and PostgreSQL (scale-out).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from kefu.core import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; INTEGER on SQLite so the column is the rowid alias (autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; refuses naive ones; always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return clock.ensure_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else clock.ensure_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, nullable=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    _sqlite_pragmas(dbapi_conn, record)


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: concurrent writers queue on busy_timeout instead of
    # failing with "database is locked" when a read transaction tries to upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One connection: SQLite has one writer anyway, and queueing for the pooled connection is FIFO and
        # asyncio-friendly, where many connections would spin in SQLite's busy handler ("database is locked").
        pool = {} if ":memory:" in url else {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_reader_connect(dbapi_conn: Any, record: Any) -> None:
    _sqlite_connect(dbapi_conn, record)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")  # a reader can never write, whatever a caller does with it
    cur.close()


def _sqlite_begin_deferred(conn: Any) -> None:
    # A plain BEGIN: a read snapshot that takes no lock, so readers never queue behind the writer (WAL).
    conn.exec_driver_sql("BEGIN")


def make_read_engine(url: str, engine: AsyncEngine, *, pool_size: int = 4, timeout_s: float = 10.0) -> AsyncEngine:
    """The engine for read-only work on hot paths (opening a socket): on SQLite its own small pool of
    query-only connections whose transactions begin deferred — reads see a consistent snapshot without
    waiting for the one writer; elsewhere (PostgreSQL, an in-memory SQLite database) `engine` itself."""
    if not url.startswith("sqlite") or ":memory:" in url:
        return engine
    reader = create_async_engine(
        url, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=0, pool_timeout=timeout_s
    )
    event.listen(reader.sync_engine, "connect", _sqlite_reader_connect)
    event.listen(reader.sync_engine, "begin", _sqlite_begin_deferred)
    return reader


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
