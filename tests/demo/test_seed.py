"""`kefu seed-demo` and `kefu migrate` through the real command line, on a fresh SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def _kefu(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KEFU_DATABASE_URL=f"sqlite+aiosqlite:///{db}", KEFU_BASE_URL="http://127.0.0.1:8000")
    return subprocess.run(
        [sys.executable, "-m", "kefu.cli", *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_migrate_then_seed_demo_twice(tmp_path: Path) -> None:
    db = tmp_path / "var" / "kefu.db"
    r = _kefu(["migrate"], db)
    assert r.returncode == 0, r.stderr
    assert db.exists()
    first = _kefu(["seed-demo"], db)
    assert first.returncode == 0, first.stderr
    assert "demo account created" in first.stdout
    assert "admin       admin@demo.kefu          password: kefu-demo-2026" in first.stdout
    assert "agent       agent2@demo.kefu" in first.stdout
    assert "http://127.0.0.1:8000/demo?inbox=" in first.stdout
    again = _kefu(["seed-demo"], db)
    assert again.returncode == 0, again.stderr
    assert "demo account already there" in again.stdout
    key = first.stdout.split("/demo?inbox=")[1].split()[0]
    assert f"/demo?inbox={key}" in again.stdout
    with sqlite3.connect(db) as conn:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("users", "inboxes", "teams", "conversations", "knowledge_faqs", "bot_flows", "bot_models")
        }
        published = conn.execute("SELECT count(*) FROM knowledge_faqs WHERE status = 'published'").fetchone()[0]
    assert counts == {
        "users": 4,
        "inboxes": 1,
        "teams": 2,
        "conversations": 3,
        "knowledge_faqs": 37,
        "bot_flows": 1,
        "bot_models": 1,
    }
    assert published == 37


def test_create_admin_makes_a_new_account_that_can_log_in(tmp_path: Path) -> None:
    db = tmp_path / "kefu.db"
    assert _kefu(["migrate"], db).returncode == 0
    r = _kefu(
        [
            "create-admin",
            "--email",
            "boss@acme.cn",
            "--name",
            "老板",
            "--account",
            "Acme",
            "--password",
            "long enough pw",
        ],
        db,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "created account 1 with admin boss@acme.cn"
    again = _kefu(["create-admin", "--email", "boss@acme.cn", "--name", "x", "--password", "long enough pw"], db)
    assert again.returncode == 1
    assert "a user with email boss@acme.cn already exists" in again.stderr
    short = _kefu(["create-admin", "--email", "b2@acme.cn", "--name", "x", "--password", "short"], db)
    assert short.returncode == 1
    assert "password" in short.stderr and "at least 8 characters" in short.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 1  # nothing half-written
