"""Where a database's schema stands against this kefu's migrations (`kefu migrate --check`, `kefu restore`).

Reads only: nothing here changes a database. Every failure to reach the database becomes a `DatabaseUnreachable`
with one line for the operator (the URL shown without its password), never a traceback.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url

from kefu.core.migrate import alembic_config


class DatabaseUnreachable(Exception):
    """The database URL is malformed, or names a server, database or file that cannot be opened."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # the database's revision; None = no kefu schema yet
    head: str  # the newest revision this kefu has
    pending: tuple[str, ...]  # revisions `kefu migrate` would apply, in order
    known: bool  # False: the database is at a revision this kefu does not have (a newer kefu migrated it)

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def display_url(url: str) -> str:
    """The URL as shown to operators: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


def head() -> str:
    rev = scripts().get_current_head()
    assert rev is not None
    return rev


def state_of(current: str | None) -> SchemaState:
    """The schema state of a database at revision `current` (None: empty)."""
    script = scripts()
    top = head()
    if current is not None:
        try:
            script.get_revision(current)
        except CommandError:
            return SchemaState(current, top, (), known=False)
    pending = tuple(reversed([s.revision for s in script.iterate_revisions(top, current)]))
    return SchemaState(current, top, pending, known=True)


def is_newer_or_same(a: str, b: str) -> bool:
    """Revision `a` is `b` or comes after it in this kefu's history (both known)."""
    return a == b or b in {s.revision for s in scripts().iterate_revisions(a, "base")}


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    tail = url.split(":///", 1)[-1] if ":///" in url else ""
    return None if tail in ("", ":memory:") else Path(tail)


def current_revision(url: str, timeout_s: float = 15.0) -> str | None:
    """The revision stored in the database at `url` (None: no kefu schema). An SQLite file that does not
    exist is an error here, not an empty database: opening it would create it."""
    try:
        make_url(url)
    except Exception as exc:
        raise DatabaseUnreachable(f"KEFU_DATABASE_URL is not a database URL: {exc}") from None
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseUnreachable(f"no database file at {path}")
    try:
        return asyncio.run(asyncio.wait_for(_read_revision(url), timeout_s))
    except TimeoutError:
        raise DatabaseUnreachable(f"the database {display_url(url)} did not answer within {timeout_s:g} s") from None
    except Exception as exc:
        raise DatabaseUnreachable(f"cannot read the database {display_url(url)}: {_reason(exc)}") from None


async def _read_revision(url: str) -> str | None:
    from kefu.core.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    text = str(inner).strip().splitlines()
    return text[0] if text else type(inner).__name__
