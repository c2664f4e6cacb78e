"""Backups (docs/operations.md#backups): `kefu backup` / `kefu restore` for the embedded SQLite database,
the pg_dump / pg_restore procedure for PostgreSQL — both compared table by table, row by row, after a
round trip — and every way a restore is refused: one line, a non-zero exit, the database as it was."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kefu.core.backup import BackupError, backup_sqlite, read_manifest
from kefu.core.migrate import upgrade
from kefu.core.revisions import head
from tests.ops.conftest import History
from tests.ops.support import kefu, libpq, scratch_database, table_rows

HEAD = head()


def _file(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sqlite_backup_and_restore_keep_every_row(history_sqlite: History, tmp_path: Path) -> None:
    filled = history_sqlite.url
    before = table_rows(filled)
    out = tmp_path / "kefu-backup.tar.gz"
    done = kefu("backup", str(out), database_url=filled)
    assert done.returncode == 0, done.stderr
    rows = sum(len(v) for k, v in before.items())
    assert done.stdout == f"backed up {_file(filled)} (schema {HEAD}, {len(before)} tables, {rows} rows) to {out}\n"
    manifest = read_manifest(out)
    assert (manifest.revision, manifest.tables) == (HEAD, {k: len(v) for k, v in before.items()})
    assert manifest.tables["attachments"] == 2 and manifest.tables["messages"] >= 6

    target = tmp_path / "restored" / "kefu.db"
    url = f"sqlite+aiosqlite:///{target}"
    done = kefu("restore", str(out), database_url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"restored {out} (taken {manifest.created_at}, schema {HEAD}) into {target}\n"
    assert table_rows(url) == before
    assert kefu("migrate", "--check", database_url=url).returncode == 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["kefu.db"]  # no temporary files left


def test_postgres_dump_and_restore_into_a_fresh_database_keep_every_row(
    history_postgres: History, tmp_path: Path
) -> None:
    """The procedure of docs/operations.md#postgresql, command by command."""
    filled = history_postgres.url
    before = table_rows(filled)
    dump = tmp_path / "kefu.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq(filled)], check=True, timeout=120
    )
    with scratch_database("postgres", tmp_path) as fresh:
        subprocess.run(
            ["pg_restore", "--no-owner", "--single-transaction", f"--dbname={libpq(fresh)}", str(dump)],
            check=True,
            timeout=120,
        )
        done = kefu("migrate", database_url=fresh)
        assert done.returncode == 0, done.stderr
        assert kefu("migrate", "--check", database_url=fresh).returncode == 0
        assert table_rows(fresh) == before
    assert before["attachments"] and before["messages"] and before["knowledge_faqs"]
    # Over a database that already has the tables: refused at the first one, nothing half-restored.
    over = subprocess.run(
        ["pg_restore", "--no-owner", "--single-transaction", f"--dbname={libpq(filled)}", str(dump)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert over.returncode == 1 and "already exists" in over.stderr
    assert table_rows(filled) == before


def test_a_backup_taken_during_writes_is_one_consistent_snapshot(tmp_path: Path) -> None:
    """A writer commits an account and its team in one transaction, again and again, while backups are
    taken of a database big enough (8 MiB of attachments) that each copy takes a while: every backup has
    as many of the writer's teams as accounts, and passes the integrity check."""
    db = tmp_path / "live.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    now = datetime.now(UTC).isoformat()
    account = conn.execute(
        "INSERT INTO accounts (name, locale, timezone, settings, created_at) VALUES ('ballast','zh-CN','UTC','{}',?)",
        (now,),
    ).lastrowid
    for i in range(8):
        conn.execute(
            "INSERT INTO attachments (account_id, name, content_type, size, sha256, data, uploader_type, created_at)"
            " VALUES (?, ?, 'application/pdf', 1048576, '', ?, 'user', ?)",
            (account, f"{i}.pdf", os.urandom(1 << 20), now),
        )
    stop = threading.Event()

    def write() -> None:
        w = sqlite3.connect(db, isolation_level=None, timeout=30)
        n = 0
        while not stop.is_set():
            n += 1
            w.execute("BEGIN IMMEDIATE")
            aid = w.execute(
                "INSERT INTO accounts (name, locale, timezone, settings, created_at) VALUES (?, 'en', 'UTC', '{}', ?)",
                (f"w{n}", now),
            ).lastrowid
            w.execute(
                "INSERT INTO teams (account_id, name, description, created_at) VALUES (?, 'T', '', ?)", (aid, now)
            )
            w.execute("COMMIT")
        w.close()

    writer = threading.Thread(target=write)
    writer.start()
    seen = []
    try:
        for i in range(3):
            manifest = backup_sqlite(db, tmp_path / f"b{i}.tar.gz")
            assert manifest.tables["accounts"] == manifest.tables["teams"] + 1  # + the ballast account
            seen.append(manifest.tables["teams"])
    finally:
        stop.set()
        writer.join()
    assert seen == sorted(seen) and seen[-1] > 0
    total = conn.execute("SELECT count(*) FROM teams").fetchone()[0]
    assert total >= seen[-1]
    restored = tmp_path / "restored.db"
    done = kefu("restore", str(tmp_path / "b2.tar.gz"), database_url=f"sqlite+aiosqlite:///{restored}")
    assert done.returncode == 0, done.stderr
    check = sqlite3.connect(restored)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert check.execute("SELECT count(*) FROM teams").fetchone() == (seen[-1],)
    assert check.execute("PRAGMA foreign_key_check").fetchall() == []


# --- refusals ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("template") / "head.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    return db


@pytest.fixture
def small(tmp_path: Path, empty_at_head: Path) -> tuple[Path, Path]:
    """A backup of a small database at head, and a target database at head with its own rows."""
    src = tmp_path / "src.db"
    shutil.copyfile(empty_at_head, src)
    _account(src, "备份里的公司")
    out = tmp_path / "small.tar.gz"
    backup_sqlite(src, out)
    target = tmp_path / "target" / "kefu.db"
    target.parent.mkdir()
    shutil.copyfile(empty_at_head, target)
    _account(target, "current")
    return out, target


def _account(db: Path, name: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO accounts (name, locale, timezone, settings, created_at) VALUES (?, 'zh-CN', 'UTC', '{}', ?)",
            (name, datetime.now(UTC).isoformat()),
        )
    conn.close()


def _names(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM accounts ORDER BY id")]
    finally:
        conn.close()


def _rewrite(archive: Path, out: Path, *, manifest: dict[str, Any] | None = None, db: bytes | None = None) -> None:
    """A copy of `archive` with its manifest fields and/or database bytes replaced."""
    with tarfile.open(archive, "r:gz") as tar:
        old_manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        old_db = tar.extractfile("kefu.db").read()  # type: ignore[union-attr]
    members = {"manifest.json": json.dumps({**old_manifest, **(manifest or {})}).encode(), "kefu.db": db or old_db}
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _corrupt(kind: str, good: Path, out: Path) -> None:
    raw = good.read_bytes()
    if kind == "truncated":
        out.write_bytes(raw[: len(raw) // 2])
    elif kind == "flipped byte":
        middle = len(raw) // 2
        out.write_bytes(raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1 :])
    elif kind == "not a backup":
        out.write_text("id,name\n1,客服\n", encoding="utf-8")
    elif kind == "other tar":
        with tarfile.open(out, "w:gz") as tar:
            info = tarfile.TarInfo("notes.txt")
            tar.addfile(info, io.BytesIO(b""))
    elif kind == "database changed":
        with tarfile.open(good, "r:gz") as tar:
            db = bytearray(tar.extractfile("kefu.db").read())  # type: ignore[union-attr]
        db[-100] ^= 0x01
        _rewrite(good, out, db=bytes(db))
    elif kind == "foreign manifest":
        _rewrite(good, out, manifest={"format": "something-else"})


CORRUPT = {
    "truncated": "the backup file is corrupt (Compressed file ended before the end-of-stream marker was reached)",
    "flipped byte": None,  # zlib's or gzip's own words, checked below for the prefix
    "not a backup": None,
    "other tar": "not a kefu backup (no manifest.json in it)",
    "database changed": "the backup file is corrupt (the database copy does not match its checksum)",
    "foreign manifest": "not a kefu backup (format 'something-else')",
}


@pytest.mark.parametrize("kind", list(CORRUPT))
def test_a_corrupt_backup_is_refused_and_the_database_stays_as_it_was(
    kind: str, small: tuple[Path, Path], tmp_path: Path
) -> None:
    good, target = small
    bad = tmp_path / f"bad-{kind.replace(' ', '-')}.tar.gz"
    _corrupt(kind, good, bad)
    before = _digest(target)
    done = kefu("restore", str(bad), "--replace", database_url=f"sqlite+aiosqlite:///{target}")
    assert done.returncode == 1
    assert done.stdout == ""
    line = done.stderr.removeprefix("error: ").removesuffix(" (nothing was restored)\n")
    assert "\n" not in line and "Traceback" not in done.stderr
    if CORRUPT[kind]:
        assert line == CORRUPT[kind]
    elif kind == "not a backup":
        assert line.startswith(f"{bad} is not a readable kefu backup (")
    else:
        assert line.startswith(("the backup file is corrupt (", f"{bad} is not a readable kefu backup ("))
    assert _digest(target) == before and _names(target) == ["current"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["kefu.db"]


def test_restore_over_a_database_with_data_needs_replace(small: tuple[Path, Path]) -> None:
    good, target = small
    url = f"sqlite+aiosqlite:///{target}"
    done = kefu("restore", str(good), database_url=url)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"error: {target} already holds a kefu database at schema {HEAD}; stop kefu and pass --replace to "
        "overwrite it with the backup (nothing was restored)\n"
    )
    assert _names(target) == ["current"]
    assert kefu("restore", str(good), "--replace", database_url=url).returncode == 0
    assert _names(target) == ["备份里的公司"]


def test_an_older_backup_restored_onto_a_newer_schema_is_migrated_before_it_replaces_anything(
    tmp_path: Path, small: tuple[Path, Path]
) -> None:
    _, target = small
    old = tmp_path / "old.db"
    upgrade(f"sqlite+aiosqlite:///{old}", "0015_tickets")
    _account(old, "旧版本的公司")
    conn = sqlite3.connect(old)
    with conn:
        conn.execute(
            "INSERT INTO contacts (account_id, name, tier, attributes, updated_at, created_at)"
            " VALUES (1, '王先生', 'platinum', '{}', '2026-01-01', '2026-01-01')"
        )
    conn.close()
    archive = tmp_path / "old.tar.gz"
    assert backup_sqlite(old, archive).revision == "0015_tickets"
    done = kefu("restore", str(archive), "--replace", database_url=f"sqlite+aiosqlite:///{target}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(f", schema 0015_tickets) into {target}, migrated to {HEAD}\n")
    assert _names(target) == ["旧版本的公司"]
    check = sqlite3.connect(target)
    assert check.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    assert check.execute("SELECT name, merged_into_id FROM contacts").fetchall() == [("王先生", None)]
    check.close()


def test_a_backup_from_a_newer_kefu_is_refused(tmp_path: Path, small: tuple[Path, Path]) -> None:
    good, target = small
    with tarfile.open(good, "r:gz") as tar:
        db = tmp_path / "future.db"
        db.write_bytes(tar.extractfile("kefu.db").read())  # type: ignore[union-attr]
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    conn.close()
    archive = tmp_path / "future.tar.gz"
    backup_sqlite(db, archive)
    before = _digest(target)
    done = kefu("restore", str(archive), "--replace", database_url=f"sqlite+aiosqlite:///{target}")
    assert done.returncode == 1
    assert done.stderr == (
        f"error: the backup's schema 0099_from_the_future is newer than this kefu knows (its newest is {HEAD}): "
        "restore it with the kefu version that made it, or a newer one (nothing was restored)\n"
    )
    assert _digest(target) == before


def test_backup_refuses_a_missing_database_and_an_existing_file(tmp_path: Path, small: tuple[Path, Path]) -> None:
    good, target = small
    done = kefu("backup", str(tmp_path / "x.tar.gz"), database_url=f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    assert (done.returncode, done.stderr) == (1, f"error: no database file at {tmp_path / 'none.db'}\n")
    assert not (tmp_path / "x.tar.gz").exists() and not (tmp_path / "none.db").exists()
    before = _digest(good)
    done = kefu("backup", str(good), database_url=f"sqlite+aiosqlite:///{target}")
    assert (done.returncode, done.stderr) == (1, f"error: {good} already exists; name a new file\n")
    assert _digest(good) == before
    with pytest.raises(BackupError, match=r"^the database has no kefu schema \(no alembic_version\)"):
        empty = tmp_path / "empty.db"
        sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
        backup_sqlite(empty, tmp_path / "e.tar.gz")
    assert not (tmp_path / "e.tar.gz").exists()


def test_backup_and_restore_point_postgresql_at_its_procedure(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://kefu:s3cret@127.0.0.1:5432/kefu"
    for verb, args, tool in (
        ("backup", [str(tmp_path / "b.tar.gz")], "pg_dump"),
        ("restore", [str(tmp_path / "b.tar.gz")], "pg_restore into a fresh database, then kefu migrate"),
    ):
        done = kefu(verb, *args, database_url=url)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == (
            f"error: kefu {verb} handles the embedded SQLite database; KEFU_DATABASE_URL is "
            f"postgresql+asyncpg://kefu:***@127.0.0.1:5432/kefu: use {tool} (docs/operations.md#postgresql)\n"
        )


def test_backup_refuses_a_url_that_is_neither_sqlite_nor_postgresql(tmp_path: Path) -> None:
    done = kefu("backup", str(tmp_path / "b.tar.gz"), database_url="mysql://kefu@db/kefu")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: kefu backup needs an SQLite KEFU_DATABASE_URL (sqlite+aiosqlite:///path/kefu.db); it is "
        "mysql://kefu@db/kefu\n"
    )
