"""Operations commands: `kefu backup`, `kefu restore`, `kefu migrate --check` (docs/operations.md).

Every failure is one line on stderr and a non-zero exit (1: the operation was refused or failed, nothing
changed; 2: the configuration is wrong, e.g. the database cannot be reached), never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import typer

from kefu.settings import Settings

PG_PROCEDURE = "docs/operations.md#postgresql"


def _settings() -> Settings:
    from kefu.cli.main import get_settings

    return get_settings()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _sqlite_path(settings: Settings, verb: str) -> Path:
    path = settings.sqlite_path()
    if path is None and not settings.database_url.startswith("postgresql"):
        raise _fail(
            f"kefu {verb} needs an SQLite KEFU_DATABASE_URL (sqlite+aiosqlite:///path/kefu.db); it is "
            f"{_display(settings.database_url)}",
            2,
        )
    if path is None:
        tool = "pg_dump" if verb == "backup" else "pg_restore into a fresh database, then kefu migrate"
        raise _fail(
            f"kefu {verb} handles the embedded SQLite database; KEFU_DATABASE_URL is "
            f"{_display(settings.database_url)}: use {tool} ({PG_PROCEDURE})",
            2,
        )
    return path


def _display(url: str) -> str:
    from kefu.core.revisions import display_url

    return display_url(url)


def backup_command(
    path: Path = typer.Argument(..., help="the backup file to write (must not exist)"),
) -> None:
    """Back up the embedded SQLite database (attachments included) while kefu keeps running."""
    from kefu.core.backup import BackupError, backup_sqlite

    db = _sqlite_path(_settings(), "backup")
    try:
        manifest = backup_sqlite(db, path)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    rows = sum(manifest.tables.values())
    typer.echo(f"backed up {db} (schema {manifest.revision}, {len(manifest.tables)} tables, {rows} rows) to {path}")


def restore_command(
    path: Path = typer.Argument(..., help="a file written by kefu backup"),
    replace: bool = typer.Option(False, "--replace", help="overwrite a database that already holds data"),
) -> None:
    """Restore a backup into the embedded SQLite database and migrate it to this kefu's schema. Stop every
    kefu process using the database first."""
    from kefu.core.backup import BackupError, restore_sqlite

    db = _sqlite_path(_settings(), "restore")
    try:
        done = restore_sqlite(path, db, replace=replace)
    except BackupError as exc:
        raise _fail(f"{exc} (nothing was restored)") from None
    migrated = "" if done.revision == done.manifest.revision else f", migrated to {done.revision}"
    typer.echo(
        f"restored {path} (taken {done.manifest.created_at}, schema {done.manifest.revision}) into {db}{migrated}"
    )


def migrate_command(
    revision: str = typer.Argument("head", help="target revision"),
    check: bool = typer.Option(
        False, "--check", help="change nothing: exit 0 when the schema is up to date, 1 when migrations are pending"
    ),
) -> None:
    """Apply database migrations (SQLite or PostgreSQL, from KEFU_DATABASE_URL)."""
    from kefu.core.migrate import upgrade
    from kefu.core.revisions import DatabaseUnreachable, current_revision, state_of

    settings = _settings()
    url = settings.database_url
    if check:
        migrate_check(url)
        return
    path = settings.sqlite_path()
    if path is None or path.is_file():
        try:  # a clear line for a wrong URL or a database newer than this kefu, before Alembic starts
            state = state_of(current_revision(url))
        except DatabaseUnreachable as exc:
            raise _fail(str(exc), 2) from None
        if not state.known:
            raise _fail(f"database at {state.current}, which this kefu does not know (its newest is {state.head})")
    upgrade(url, revision)
    typer.echo(f"database at {revision}: {_display(url)}")


def migrate_check(url: str) -> None:
    """Exit 0 when the database is at this kefu's newest schema, 1 when migrations are pending or the
    database is at a schema this kefu does not know, 2 when the database cannot be read."""
    from kefu.core.revisions import DatabaseUnreachable, current_revision, state_of

    try:
        state = state_of(current_revision(url))
    except DatabaseUnreachable as exc:
        raise _fail(str(exc), 2) from None
    where = _display(url)
    if state.at_head:
        typer.echo(f"database at {state.head} (up to date): {where}")
        return
    if not state.known:
        raise _fail(f"database at {state.current}, which this kefu does not know (its newest is {state.head}): {where}")
    at = state.current or "no schema"
    n, names = len(state.pending), state.pending
    listed = ", ".join(names) if n <= 4 else f"{names[0]} … {names[-1]}"
    typer.echo(
        f"database at {at}, {n} migration{'s' if n != 1 else ''} pending ({listed}): {where}; run kefu migrate",
        err=True,
    )
    raise typer.Exit(1)
