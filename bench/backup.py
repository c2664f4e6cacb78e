"""`kefu backup` / `kefu restore` on an SQLite database of a given size, next to a plain copy, in one process.

    .venv/bin/python bench/backup.py [--messages 50000] [--attachments 100] [--json]

Builds a database at head: messages (Chinese and English customer-service text) in conversations of 10,
and attachments of 1 MiB of random bytes (photos and PDFs barely compress). Then, on the same file:
- baseline: copying the file (`shutil.copyfile`; only correct while nothing writes) and SQLite's backup API
  to an uncompressed file (what the backup starts with);
- `backup_sqlite` (copy, integrity check, row counts, checksum, gzip archive) and `restore_sqlite` into a
  new file (extract, checksum, integrity check, write with the backup API);
- the longest commit of a writer (one row per transaction, as kefu writes messages) during a backup, against
  the longest over the same time without one: what a backup costs the live server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from kefu.core.backup import backup_sqlite, restore_sqlite
from kefu.core.migrate import upgrade

TEXTS = [
    "你好，我的订单 202612070001 还没发货，能帮我查一下吗？",
    "您好，已为您催促仓库，今天发出。",
    "Do you ship to Hong Kong?",
]


def build(db: Path, messages: int, attachments: int) -> None:
    upgrade(f"sqlite+aiosqlite:///{db}")
    now = datetime.now(UTC).isoformat()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO accounts (name, locale, timezone, settings, created_at) VALUES ('b','zh-CN','UTC','{}',?)",
            (now,),
        )
        conn.execute(
            "INSERT INTO inboxes (account_id, name, channel_type, public_key, greeting, bot_enabled, config,"
            " created_at) VALUES (1, 'w', 'web_widget', 'pk', '', 0, '{}', ?)",
            (now,),
        )
        conn.execute(
            "INSERT INTO contacts (account_id, name, tier, attributes, updated_at, created_at, token_version,"
            " churn_risk, segment_reasons) VALUES (1, 'c', 'normal', '{}', ?, ?, 0, 0, '[]')",
            (now, now),
        )
        conv_cols = (
            "account_id, inbox_id, contact_id, status, priority, subject, last_activity_at, bot_state, created_at"
        )
        for c in range(messages // 10):
            conn.execute(
                f"INSERT INTO conversations ({conv_cols}) VALUES (1, 1, 1, 'open', 'p3', '', ?, '{{}}', ?)", (now, now)
            )
            conn.executemany(
                "INSERT INTO messages (account_id, conversation_id, direction, kind, sender_type, content,"
                " attachments, meta, created_at, delivery_attempts)"
                " VALUES (1, ?, 'incoming', 'text', 'contact', ?, '[]', '{}', ?, 0)",
                [(c + 1, TEXTS[i % 3], now) for i in range(10)],
            )
        conn.executemany(
            "INSERT INTO attachments (account_id, name, content_type, size, sha256, data, uploader_type, created_at)"
            " VALUES (1, ?, 'image/jpeg', 1048576, '', ?, 'contact', ?)",
            [(f"{i}.jpg", os.urandom(1 << 20), now) for i in range(attachments)],
        )
    conn.close()


def timed(fn: object, *args: object) -> float:
    t0 = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - t0


def api_copy(src: Path, dst: Path) -> None:
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    a.close()
    b.close()


def longest_commit(db: Path, seconds: float, during: object = None) -> float:
    stop, worst = threading.Event(), [0.0]

    def write() -> None:
        w = sqlite3.connect(db, isolation_level=None, timeout=60)
        w.execute("PRAGMA journal_mode=WAL")
        while not stop.is_set():
            t0 = time.perf_counter()
            w.execute("BEGIN IMMEDIATE")
            w.execute("UPDATE accounts SET name = name WHERE id = 1")
            w.execute("COMMIT")
            worst[0] = max(worst[0], time.perf_counter() - t0)
            time.sleep(0.002)
        w.close()

    thread = threading.Thread(target=write)
    thread.start()
    t0 = time.perf_counter()
    if during is not None:
        during()  # type: ignore[operator]
    time.sleep(max(0.0, seconds - (time.perf_counter() - t0)))
    stop.set()
    thread.join()
    return worst[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--attachments", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kefu-bench-backup-") as tmp:
        d = Path(tmp)
        db = d / "kefu.db"
        build(db, args.messages, args.attachments)
        size = db.stat().st_size
        copy_s = timed(shutil.copyfile, db, d / "copy.db")
        api_s = timed(api_copy, db, d / "api.db")
        backup_s = timed(backup_sqlite, db, d / "b.tar.gz")
        archive = (d / "b.tar.gz").stat().st_size
        restore_s = timed(restore_sqlite, d / "b.tar.gz", d / "restored.db")
        seconds = backup_s + 1.0
        quiet = longest_commit(db, seconds)
        busy = longest_commit(db, seconds, lambda: backup_sqlite(db, d / "b2.tar.gz"))
    result = {
        "database_mib": round(size / 2**20, 1),
        "archive_mib": round(archive / 2**20, 1),
        "messages": args.messages,
        "attachments": args.attachments,
        "baseline_file_copy_s": round(copy_s, 2),
        "baseline_backup_api_copy_s": round(api_s, 2),
        "kefu_backup_s": round(backup_s, 2),
        "kefu_restore_s": round(restore_s, 2),
        "writer_longest_commit_ms_without_backup": round(quiet * 1000, 1),
        "writer_longest_commit_ms_during_backup": round(busy * 1000, 1),
    }
    if not args.json:
        for k, v in result.items():
            print(f"{k:<44} {v}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
