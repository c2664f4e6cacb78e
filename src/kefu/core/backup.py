"""Backups of the embedded SQLite database: `kefu backup PATH` / `kefu restore PATH` (docs/operations.md#backups).

A backup is one gzip-compressed tar file with two members, `manifest.json` then `kefu.db`:

- `kefu.db` is a copy taken online with SQLite's backup API in one step — one read transaction, so a snapshot
  of what was committed while `kefu serve` keeps writing. Attachments are rows of the database, so they are in
  it. The copy is switched to a rollback journal (one self-contained file) and passes `PRAGMA integrity_check`
  before it is archived.
- `manifest.json` says what the copy is: the format and its version, when it was taken, the schema revision,
  the rows of every table, and the copy's size and SHA-256.

The archive is written aside and renamed into place, so PATH is a whole backup or nothing.

A restore checks everything before it touches the target database: the archive reads, the manifest is a kefu
backup's, the copy has its size and checksum, passes the integrity check, and has the revision and the row
counts the manifest names; the revision is one this kefu knows. The copy is then migrated to this kefu's
head while it is still aside, and written into the target with the backup API in one step — one write
transaction, so the target is either the old database or the restored one, never a mix.

PostgreSQL is backed up with pg_dump and restored with pg_restore into a fresh database (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import sqlite3
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kefu.core import revisions
from kefu.core.migrate import upgrade

FORMAT = "kefu-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "kefu.db"
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is for the operator. Nothing was changed."""


@dataclass(frozen=True)
class Manifest:
    format: str
    version: int
    created_at: str
    revision: str
    tables: dict[str, int]
    size: int
    sha256: str

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            manifest = cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the backup's manifest is not readable ({exc})") from None
        if manifest.format != FORMAT:
            raise BackupError(f"not a kefu backup (format {manifest.format!r})")
        if manifest.version != FORMAT_VERSION:
            raise BackupError(f"backup format version {manifest.version} is not one this kefu reads ({FORMAT_VERSION})")
        return manifest


# --- backup ---------------------------------------------------------------------------------------------


def backup_sqlite(db_path: Path, out: Path) -> Manifest:
    """Write a backup of the SQLite database at `db_path` to `out` (which must not exist yet)."""
    if not db_path.is_file():
        raise BackupError(f"no database file at {db_path}")
    if out.exists():
        raise BackupError(f"{out} already exists; name a new file")
    if not out.parent.is_dir():
        raise BackupError(f"the directory {out.parent} does not exist")
    with _aside(out.parent, ".kefu-backup-") as copy:
        _online_copy(db_path, copy)
        manifest = _describe(copy)
        with _aside(out.parent, f".{out.name}.") as archive:
            _write_archive(archive, manifest, copy)
            os.replace(archive, out)
    return manifest


def _online_copy(db_path: Path, copy: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database {db_path}: {exc}") from None
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, under one read snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{db_path} is not a readable SQLite database: {exc}") from None
    finally:
        src.close()


def _describe(copy: Path) -> Manifest:
    conn = sqlite3.connect(copy)
    try:
        _check_integrity(conn, "the copy")
        revision = _revision(conn)
        if revision is None:
            raise BackupError("the database has no kefu schema (no alembic_version); run kefu migrate first")
        tables = _row_counts(conn)
    finally:
        conn.close()
    size, digest = _digest(copy)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return Manifest(FORMAT, FORMAT_VERSION, created, revision, tables, size, digest)


def _write_archive(archive: Path, manifest: Manifest, copy: Path) -> None:
    raw = json.dumps(asdict(manifest), indent=1, sort_keys=True).encode()
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:  # attachments barely compress; text does at 1
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(raw), int(datetime.now(UTC).timestamp()), 0o600
        tar.addfile(info, io.BytesIO(raw))
        tar.add(copy, arcname=DATABASE, recursive=False, filter=_private)
    with archive.open("rb+") as fh:
        os.fsync(fh.fileno())


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


# --- restore --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    revision: str  # the target's revision after the restore (this kefu's head)


def read_manifest(archive: Path) -> Manifest:
    """The manifest of a backup file, without extracting the database."""
    with _open_archive(archive) as tar:
        return Manifest.parse(_member(tar, MANIFEST).read())


def restore_sqlite(archive: Path, db_path: Path, *, replace: bool = False) -> Restored:
    """Restore the backup `archive` into the SQLite database `db_path` (see the module docstring)."""
    if not archive.is_file():
        raise BackupError(f"no backup file at {archive}")
    target_revision = _target_revision(db_path, replace)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _aside(db_path.parent, ".kefu-restore-") as copy:
        manifest = _extract(archive, copy)
        _verify_copy(copy, manifest)
        state = revisions.state_of(manifest.revision)
        if not state.known:
            raise BackupError(
                f"the backup's schema {manifest.revision} is newer than this kefu knows (its newest is {state.head}): "
                "restore it with the kefu version that made it, or a newer one"
            )
        if target_revision is not None and not revisions.is_newer_or_same(state.head, target_revision):
            raise BackupError(f"the database {db_path} is at schema {target_revision}, unknown to this kefu")
        if state.pending:
            upgrade(f"sqlite+aiosqlite:///{copy}")
        _write_into(copy, db_path)
    return Restored(manifest, state.head)


def _target_revision(db_path: Path, replace: bool) -> str | None:
    """The revision of the database about to be replaced (None: none there); refuses to overwrite a
    database that holds tables unless `replace`."""
    if not db_path.exists():
        return None
    if not db_path.is_file():
        raise BackupError(f"{db_path} is not a file")
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            revision = _revision(conn) if "alembic_version" in names else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{db_path} is not an SQLite database ({exc}); move it aside first") from None
    if names and not replace:
        what = f"a kefu database at schema {revision}" if revision else f"{len(names)} tables"
        raise BackupError(
            f"{db_path} already holds {what}; stop kefu and pass --replace to overwrite it with the backup"
        )
    return revision


def _extract(archive: Path, copy: Path) -> Manifest:
    with _open_archive(archive) as tar:
        manifest = Manifest.parse(_member(tar, MANIFEST).read())
        src = _member(tar, DATABASE)
        digest, size = hashlib.sha256(), 0
        try:
            with copy.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise BackupError(f"the backup file is corrupt ({_why(exc)})") from None
    if (size, digest.hexdigest()) != (manifest.size, manifest.sha256):
        raise BackupError("the backup file is corrupt (the database copy does not match its checksum)")
    return manifest


def _verify_copy(copy: Path, manifest: Manifest) -> None:
    conn = sqlite3.connect(copy)
    try:
        _check_integrity(conn, "the backup's database")
        revision, tables = _revision(conn), _row_counts(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the backup's database is not readable ({exc})") from None
    finally:
        conn.close()
    if revision != manifest.revision or tables != manifest.tables:
        raise BackupError("the backup's database does not match its manifest (schema or row counts differ)")


def _write_into(copy: Path, db_path: Path) -> None:
    src = sqlite3.connect(copy)
    try:
        expected = _row_counts(src)
        dst = sqlite3.connect(db_path, timeout=30)
        try:
            src.backup(dst)  # one step: one write transaction on the target
            dst.execute("PRAGMA journal_mode=WAL")
            if _row_counts(dst) != expected:
                raise BackupError(f"{db_path} does not hold the restored rows after the write")
        except sqlite3.Error as exc:
            raise BackupError(f"cannot write {db_path}: {exc}; it was left as it was") from None
        finally:
            dst.close()
    finally:
        src.close()


# --- shared ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            yield tar
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{archive} is not a readable kefu backup ({_why(exc)})") from None


def _member(tar: tarfile.TarFile, name: str) -> Any:
    try:
        info = tar.getmember(name)
    except KeyError:
        raise BackupError(f"not a kefu backup (no {name} in it)") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"the backup file is corrupt ({_why(exc)})") from None
    fh = tar.extractfile(info) if info.isfile() else None
    if fh is None:
        raise BackupError(f"not a kefu backup ({name} is not a file)")
    return fh


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _check_integrity(conn: sqlite3.Connection, what: str) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    if rows != ["ok"]:
        raise BackupError(f"{what} fails SQLite's integrity check: {'; '.join(map(str, rows[:3]))}")


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def _row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}


def _digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@contextlib.contextmanager
def _aside(directory: Path, prefix: str) -> Iterator[Path]:
    """A temporary file name in `directory` (same file system as the target, so renames are atomic),
    removed with its SQLite side files afterwards."""
    path = directory / f"{prefix}{secrets.token_hex(6)}.tmp"
    try:
        yield path
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()
