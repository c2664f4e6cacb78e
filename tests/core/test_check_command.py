"""`kefu check` (docs/operations.md "kefu check"): the effective configuration with secrets masked, every
problem found, exit 1 on a problem — run as an operator runs it, in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kefu.core.migrate import upgrade
from kefu.core.readiness import head_revisions
from tests.conftest import free_port

STRONG = "k3fu-check-" + "9f2b7c1d4e6a8b0c3d5e7f9a1b2c4d6e"
HEAD = ", ".join(sorted(head_revisions()))


def kefu_check(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "kefu.cli", "check"], env=full, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def setting(out: str, name: str) -> str:
    line = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
    return line.strip().removeprefix(name).strip()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('check') / 'kefu.db'}"
    upgrade(url)
    return url


def test_a_sound_production_configuration(tmp_path: Path, migrated: str) -> None:
    token = "m3trics-" + "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
    run = kefu_check(
        tmp_path, KEFU_ENV="prod", KEFU_DATABASE_URL=migrated, KEFU_SECRET_KEY=STRONG, KEFU_METRICS_TOKEN=token
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert STRONG not in run.stdout + run.stderr and token not in run.stdout + run.stderr
    assert setting(run.stdout, "KEFU_SECRET_KEY") == "*** (set)"
    assert setting(run.stdout, "KEFU_METRICS_TOKEN") == "*** (set)"
    assert setting(run.stdout, "KEFU_ENV") == "prod"
    assert setting(run.stdout, "KEFU_PORT") == "8000  (default)"
    assert setting(run.stdout, "KEFU_REDIS_URL") == "(unset)  (default)"
    assert "  ok    database: sqlite answers" in run.stdout
    assert f"  ok    migrations: at head {HEAD}" in run.stdout
    assert run.stdout.rstrip().endswith("no problems found")
    assert run.stderr == ""


def test_a_weak_secret_an_unreachable_database_and_redis_are_all_reported(tmp_path: Path) -> None:
    db, rd = free_port(), free_port()
    run = kefu_check(
        tmp_path,
        KEFU_ENV="prod",
        KEFU_SECRET_KEY="changeme-changeme",
        KEFU_DATABASE_URL=f"postgresql+asyncpg://kefu:db-pa55word@127.0.0.1:{db}/kefu",
        KEFU_REDIS_URL=f"redis://:redis-pa55word@127.0.0.1:{rd}/0",
        KEFU_METRICS_TOKEN="short",
    )
    assert run.returncode == 1
    both = run.stdout + run.stderr
    assert "pa55word" not in both and "changeme" not in both
    assert setting(run.stdout, "KEFU_DATABASE_URL") == f"postgresql+asyncpg://kefu:***@127.0.0.1:{db}/kefu"
    assert setting(run.stdout, "KEFU_REDIS_URL") == f"redis://:***@127.0.0.1:{rd}/0"
    assert setting(run.stdout, "KEFU_SECRET_KEY") == "(refused: see the problems below)"
    problems = run.stderr.splitlines()
    assert problems[0] == "4 problems:"
    assert problems[1] == "  - KEFU_SECRET_KEY must be at least 32 characters (it has 17)"
    assert problems[2] == "  - KEFU_METRICS_TOKEN must be at least 32 characters (it has 5)"
    assert problems[3].startswith("  - database: ConnectionRefusedError: ")
    assert problems[4].startswith("  - redis: ConnectionError: ")
    assert "  FAIL  migrations: not checked: the database does not answer" in run.stdout


def test_missing_migrations_and_a_missing_database_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    run = kefu_check(tmp_path, KEFU_DATABASE_URL=f"sqlite+aiosqlite:///{empty}", KEFU_SECRET_KEY=STRONG)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "1 problem:",
        f"  - migrations: no migrations applied (this code expects {HEAD}): run `kefu migrate`",
    ]
    gone = tmp_path / "nowhere" / "kefu.db"
    run = kefu_check(tmp_path, KEFU_DATABASE_URL=f"sqlite+aiosqlite:///{gone}", KEFU_SECRET_KEY=STRONG)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "1 problem:",
        f"  - database: the SQLite file {gone} does not exist: run `kefu migrate`",
    ]
    assert not gone.parent.exists()  # checked, never created


def test_a_malformed_value_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    run = kefu_check(tmp_path, KEFU_PORT="eighty", KEFU_SECRET_KEY=STRONG)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines()[0] == "1 problem:"
    assert run.stderr.splitlines()[1].startswith("  - KEFU_PORT: Input should be a valid integer")
