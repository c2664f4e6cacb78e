"""The signing secret: generated once per install when unset, weak ones refused in production with one
line on stderr (not a traceback)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kefu.settings import DEV_SECRET, Settings

GOOD = "9f2c1e7a4b8d0c6e3f5a9b1d7c2e8f4a0b6d3c9e"


def _kefu(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    full.update({"KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}", **env})
    return subprocess.run(
        [sys.executable, "-m", "kefu.cli", "migrate"], env=full, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (DEV_SECRET, "is the published development value; set a random one (e.g. `openssl rand -hex 32`)"),
        ("short-but-random-Xq81", "must be at least 32 characters (it has 21)"),
        ("ab" * 20, "looks like a pattern, not a random value; set a random one (e.g. `openssl rand -hex 32`)"),
    ],
)
def test_prod_refuses_a_weak_secret_with_one_line(tmp_path: Path, secret: str, problem: str) -> None:
    done = _kefu(tmp_path, KEFU_ENV="prod", KEFU_SECRET_KEY=secret)
    assert done.returncode == 2
    assert done.stderr == f"error: KEFU_SECRET_KEY {problem}\n"
    assert not (tmp_path / "kefu.db").exists()  # nothing was done


def test_prod_accepts_a_random_secret(tmp_path: Path) -> None:
    done = _kefu(tmp_path, KEFU_ENV="prod", KEFU_SECRET_KEY=GOOD)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "secret_key").exists()


def test_the_old_default_is_refused_outside_prod_too(tmp_path: Path) -> None:
    done = _kefu(tmp_path, KEFU_SECRET_KEY=DEV_SECRET)
    assert done.returncode == 2
    assert done.stderr.startswith("error: KEFU_SECRET_KEY is the published development value")


def test_unset_secret_is_generated_once_next_to_the_database(tmp_path: Path) -> None:
    done = _kefu(tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "secret_key"
    secret = path.read_text().strip()
    assert len(secret) >= 60 and secret != DEV_SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings(env="dev", database_url=f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}")
    assert again.secret_key == secret  # every process of this install signs with the same value
    other = Settings(env="prod", database_url="postgresql+asyncpg://x@db/kefu", data_dir=tmp_path / "d")
    assert other.secret_key != secret and (tmp_path / "d" / "secret_key").read_text().strip() == other.secret_key


def test_prod_on_postgresql_needs_a_shared_secret_or_a_data_dir(tmp_path: Path) -> None:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    full.update({"KEFU_ENV": "prod", "KEFU_DATABASE_URL": "postgresql+asyncpg://x@127.0.0.1:1/none"})
    done = subprocess.run(
        [sys.executable, "-m", "kefu.cli", "migrate"], env=full, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: set KEFU_SECRET_KEY (the same on every node) or KEFU_DATA_DIR when the database is not SQLite\n"
    )
