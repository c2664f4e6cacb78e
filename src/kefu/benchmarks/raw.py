"""Baseline: insert the rows kefu writes for one message (message + event) straight through the driver,
from `concurrency` connections — no HTTP, no ORM, no realtime. `batch=1`: one transaction per message (each
message durable before the next, like an acknowledged message); `batch=N`: N messages per transaction
(`executemany`), the driver's ceiling when commits are shared."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from typing import Any

MSG_SQL = (
    "INSERT INTO messages (account_id, conversation_id, direction, kind, sender_type, sender_id, content,"
    " attachments, client_message_id, meta, created_at) VALUES ({p})"
)
EVENT_SQL = (
    "INSERT INTO events (account_id, type, conversation_id, contact_id, actor_type, actor_id, payload, created_at)"
    " VALUES ({p})"
)


def _row(account_id: int, conv_id: int, contact_id: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    now = datetime.now(UTC)
    cmid = uuid.uuid4().hex
    content = "你好，我的订单什么时候发货？ order KF" + cmid[:8]
    msg = (account_id, conv_id, "incoming", "text", "contact", contact_id, content, "[]", cmid, "{}", now)
    payload = json.dumps({"content": content, "client_message_id": cmid})
    event = (account_id, "message.created", conv_id, contact_id, "contact", contact_id, payload, now)
    return msg, event


async def raw_inserts(url: str, account_id: int, seconds: float, concurrency: int, batch: int = 1) -> float:
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_sqlite, url.split(":///", 1)[1], account_id, seconds, batch)
    return await _postgres(url, account_id, seconds, concurrency, batch)


async def _target(conn: Any, account_id: int) -> tuple[int, int]:
    row = await conn.fetchrow("SELECT id, contact_id FROM conversations WHERE account_id=$1 LIMIT 1", account_id)
    return int(row["id"]), int(row["contact_id"])


async def _postgres(url: str, account_id: int, seconds: float, concurrency: int, batch: int) -> float:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    async with pool.acquire() as conn:
        conv_id, contact_id = await _target(conn, account_id)
    msg_sql = (
        MSG_SQL.format(p=", ".join(f"${i}" for i in range(1, 12)))
        .replace("$8", "$8::jsonb")
        .replace("$10", "$10::jsonb")
    )
    ev_sql = EVENT_SQL.format(p=", ".join(f"${i}" for i in range(1, 9))).replace("$7", "$7::jsonb")
    deadline = time.perf_counter() + seconds
    count = 0

    async def worker() -> None:
        nonlocal count
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                rows = [_row(account_id, conv_id, contact_id) for _ in range(batch)]
                async with conn.transaction():
                    if batch == 1:
                        await conn.execute(msg_sql, *rows[0][0])
                        await conn.execute(ev_sql, *rows[0][1])
                    else:
                        await conn.executemany(msg_sql, [m for m, _ in rows])
                        await conn.executemany(ev_sql, [e for _, e in rows])
                count += batch

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return count / elapsed


def _sqlite(path: str, account_id: int, seconds: float, batch: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conv_id, contact_id = conn.execute(
        "SELECT id, contact_id FROM conversations WHERE account_id=? LIMIT 1", (account_id,)
    ).fetchone()
    msg_sql, ev_sql = MSG_SQL.format(p=", ".join("?" * 11)), EVENT_SQL.format(p=", ".join("?" * 8))
    deadline = time.perf_counter() + seconds
    count = 0
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(batch):
            msg, event = _row(account_id, conv_id, contact_id)
            conn.execute(msg_sql, (*msg[:10], msg[10].isoformat(sep=" ")))
            conn.execute(ev_sql, (*event[:7], event[7].isoformat(sep=" ")))
        conn.execute("COMMIT")
        count += batch
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed
