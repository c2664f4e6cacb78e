"""`kefu migrate --check` for deploy scripts, and what `kefu migrate` says about a database it cannot use:
one line, a non-zero exit, nothing created or changed (docs/operations.md#upgrades)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kefu.core.migrate import upgrade
from kefu.core.revisions import head
from tests.conftest import free_port
from tests.ops.support import kefu, pg_url_named

HEAD = head()
# The revisions, in order, from the migration files' names (kefu's revision ids are their file names).
VERSIONS = Path(__file__).resolve().parents[2] / "src" / "kefu" / "migrations" / "versions"
REVISIONS = sorted(p.stem for p in VERSIONS.glob("0*.py"))


def test_check_on_a_new_file_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kefu.db"
    url = f"sqlite+aiosqlite:///{db}"
    done = kefu("migrate", "--check", database_url=url)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"error: no database file at {db}\n")
    assert not db.exists()
    upgrade(url, "0019_channel_state")
    done = kefu("migrate", "--check", database_url=url)
    assert (done.returncode, done.stdout) == (1, "")
    pending = REVISIONS[REVISIONS.index("0019_channel_state") + 1 :]
    assert pending[-1] == HEAD and 2 <= len(pending) <= 4
    assert done.stderr == (
        f"database at 0019_channel_state, {len(pending)} migrations pending ({', '.join(pending)}): {url}; "
        "run kefu migrate\n"
    )
    assert sqlite3.connect(db).execute("SELECT version_num FROM alembic_version").fetchone() == ("0019_channel_state",)


def test_a_database_migrated_by_a_newer_kefu_is_neither_checked_ok_nor_migrated(tmp_path: Path) -> None:
    db = tmp_path / "kefu.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    conn.close()
    expected = f"error: database at 0099_from_the_future, which this kefu does not know (its newest is {HEAD})"
    check = kefu("migrate", "--check", database_url=url)
    assert (check.returncode, check.stderr) == (1, f"{expected}: {url}\n")
    done = kefu("migrate", database_url=url)
    assert (done.returncode, done.stderr) == (1, expected + "\n")


@pytest.mark.parametrize("command", [["migrate", "--check"], ["migrate"]])
def test_a_wrong_postgresql_url_is_one_line_and_exit_2(command: list[str], pg_url: str) -> None:
    missing = pg_url_named("kefu_no_such_database")
    done = kefu(*command, database_url=missing)
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr == f'error: cannot read the database {missing}: database "kefu_no_such_database" does not exist\n'
    )

    port = free_port()  # nothing listens there
    closed = f"postgresql+asyncpg://kefu:hunter2@127.0.0.1:{port}/kefu"
    done = kefu(*command, database_url=closed)
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"error: cannot read the database postgresql+asyncpg://kefu:***@127.0.0.1:{port}/kefu: "
    )
    assert "hunter2" not in done.stderr and done.stderr.count("\n") == 1

    done = kefu(*command, database_url="postgres://not a url")
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert done.stderr.startswith("error: ")
