"""Upgrades (docs/operations.md#upgrades): a database created at the first migration and filled with the rows a
company had then is migrated to head on SQLite and PostgreSQL; every row is still there, the data migrations
did their part, and the current kefu serves the old rows — the old API token, the old password, the old
conversations and messages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from kefu.auth.passwords import hash_password
from kefu.auth.tokens import token_hash
from kefu.core.db import make_engine
from kefu.core.migrate import upgrade
from kefu.core.revisions import head
from tests.conftest import free_port
from tests.ops.support import kefu, scratch_database
from tests.support.server import start_server

TOKEN = "kefu_" + "legacy-token-from-the-first-release-0001"
PASSWORD = "first release password"
T0 = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def _type(values: list[Any]) -> Any:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, datetime):
        return sa.DateTime(timezone=True)
    if isinstance(sample, dict | list):
        return Json
    return sa.Boolean() if isinstance(sample, bool) else None


def _table(name: str, rows: list[dict[str, Any]]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, _type([r[c] for r in rows])) for c in rows[0]))


def _rows_at_0001() -> dict[str, list[dict[str, Any]]]:
    """What an account had at revision 0001: people, a team, a widget inbox, three customers (one with a
    free-text tier that revision 0011 closes), two conversations with labels, messages and their events."""
    at = [T0 + timedelta(minutes=i) for i in range(10)]
    pw = hash_password(PASSWORD)
    acc = {"account_id": 1}
    return {
        "accounts": [
            {"id": 1, "name": "示例商城", "locale": "zh-CN", "timezone": "Asia/Shanghai", "settings": {},
             "created_at": at[0]},
        ],
        "teams": [{"id": 1, **acc, "name": "售后", "description": "退换货", "created_at": at[0]}],
        "users": [
            {"id": 1, **acc, "email": "admin@shop.example", "name": "店长", "role": "admin", "password_hash": pw,
             "is_active": True, "locale": "zh-CN", "created_at": at[0]},
            {"id": 2, **acc, "email": "wang@shop.example", "name": "小王", "role": "agent", "password_hash": pw,
             "is_active": True, "locale": None, "created_at": at[1]},
        ],
        "team_members": [{"team_id": 1, "user_id": 2, **acc}],
        "api_tokens": [
            {"id": 1, **acc, "user_id": 1, "name": "erp", "prefix": TOKEN[:11], "token_hash": token_hash(TOKEN),
             "last_used_at": None, "revoked_at": None, "created_at": at[1]},
        ],
        "inboxes": [
            {"id": 1, **acc, "name": "官网", "channel_type": "web_widget", "public_key": "pk-legacy-0001",
             "greeting": "您好！", "bot_enabled": False, "team_id": 1, "config": {}, "created_at": at[1]},
        ],
        "contacts": [
            {"id": 1, **acc, "name": "李女士", "email": "li@example.cn", "phone": "+8613800138000", "tier": "vip",
             "locale": "zh-CN", "attributes": {"城市": "上海"}, "updated_at": at[2], "created_at": at[2]},
            {"id": 2, **acc, "name": "Ms Smith", "email": None, "phone": None, "tier": "VIP客户", "locale": "en",
             "attributes": {}, "updated_at": at[3], "created_at": at[3]},
            {"id": 3, **acc, "name": "陳先生", "email": None, "phone": None, "tier": "normal", "locale": "zh-TW",
             "attributes": {}, "updated_at": at[3], "created_at": at[3]},
        ],
        "contact_identities": [
            {"id": 1, **acc, "contact_id": 1, "kind": "email", "value": "li@example.cn", "inbox_id": None,
             "created_at": at[2]},
        ],
        "conversations": [
            {"id": 1, **acc, "inbox_id": 1, "contact_id": 1, "status": "open", "priority": "p2", "assignee_id": 2,
             "team_id": 1, "subject": "订单未发货", "snoozed_until": None, "last_activity_at": at[6],
             "last_incoming_at": at[4], "first_response_at": at[5], "resolved_at": None, "bot_state": {},
             "created_at": at[4]},
            {"id": 2, **acc, "inbox_id": 1, "contact_id": 2, "status": "resolved", "priority": "p3",
             "assignee_id": None, "team_id": None, "subject": "Shipping", "snoozed_until": None,
             "last_activity_at": at[8], "last_incoming_at": at[7], "first_response_at": None,
             "resolved_at": at[8], "bot_state": {}, "created_at": at[7]},
        ],
        "conversation_labels": [
            {"conversation_id": 1, "label": "退货", **acc},
            {"conversation_id": 1, "label": "vip", **acc},
        ],
        "messages": [
            {"id": 1, **acc, "conversation_id": 1, "direction": "incoming", "kind": "text", "sender_type": "contact",
             "sender_id": 1, "content": "你好，我的订单 202611250001 还没发货", "attachments": [],
             "client_message_id": "c-1", "meta": {}, "created_at": at[4]},
            {"id": 2, **acc, "conversation_id": 1, "direction": "outgoing", "kind": "text", "sender_type": "user",
             "sender_id": 2, "content": "您好，已为您催促仓库今天发出", "attachments": [],
             "client_message_id": None, "meta": {}, "created_at": at[5]},
            {"id": 3, **acc, "conversation_id": 1, "direction": "outgoing", "kind": "note", "sender_type": "user",
             "sender_id": 2, "content": "老客户，优先处理", "attachments": [], "client_message_id": None,
             "meta": {}, "created_at": at[6]},
            {"id": 4, **acc, "conversation_id": 2, "direction": "incoming", "kind": "text", "sender_type": "contact",
             "sender_id": 2, "content": "Do you ship to Hong Kong?", "attachments": [], "client_message_id": "c-2",
             "meta": {}, "created_at": at[7]},
        ],
        "events": [
            {"id": 1, **acc, "type": "message.created", "conversation_id": 1, "contact_id": 1,
             "actor_type": "contact", "actor_id": 1, "payload": {"id": 1}, "created_at": at[4]},
            {"id": 2, **acc, "type": "conversation.status_changed", "conversation_id": 2, "contact_id": 2,
             "actor_type": "user", "actor_id": 1, "payload": {"status": "resolved"}, "created_at": at[8]},
        ],
    }  # fmt: skip


async def _insert(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for name, rows in _rows_at_0001().items():
                await conn.execute(sa.insert(_table(name, rows)), rows)
                if conn.dialect.name == "postgresql" and "id" in rows[0]:  # move the sequence past the named ids
                    await conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 100)"))
    finally:
        await engine.dispose()


async def _select(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(sa.text(sql))).all()]
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def upgraded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    kind, redis = request.param, None
    if kind == "postgres":
        request.getfixturevalue("pg_url")  # skips (or fails, when services are required) without PostgreSQL
        redis = request.getfixturevalue("redis_url")
    with scratch_database(kind, tmp_path_factory.mktemp("upgrade")) as url:
        upgrade(url, "0001")
        asyncio.run(_insert(url))
        before = kefu("migrate", "--check", database_url=url)
        done = kefu("migrate", database_url=url)
        assert done.returncode == 0, done.stderr
        yield {"name": kind, "database_url": url, "redis_url": redis, "check_before": before}


def test_migrate_check_names_what_is_pending_then_passes(upgraded: dict[str, Any]) -> None:
    before = upgraded["check_before"]
    assert before.returncode == 1 and before.stdout == ""
    assert before.stderr.startswith("database at 0001, 20 migrations pending (0002 … ")
    assert before.stderr.endswith(f"{head()}): {upgraded['database_url']}; run kefu migrate\n")
    after = kefu("migrate", "--check", database_url=upgraded["database_url"])
    assert (after.returncode, after.stderr) == (0, "")
    assert after.stdout == f"database at {head()} (up to date): {upgraded['database_url']}\n"


def test_every_row_is_kept_and_the_data_migrations_ran(upgraded: dict[str, Any]) -> None:
    url = upgraded["database_url"]

    def q(sql: str) -> list[tuple[Any, ...]]:
        return asyncio.run(_select(url, sql))

    assert q("SELECT id, name, tier, merged_into_id FROM contacts ORDER BY id") == [
        (1, "李女士", "vip", None),
        (2, "Ms Smith", "normal", None),  # 0011: a tier outside the closed set became "normal"
        (3, "陳先生", "normal", None),
    ]
    assert q("SELECT id, content, delivery_status, delivery_attempts, inbox_id FROM messages ORDER BY id") == [
        (1, "你好，我的订单 202611250001 还没发货", None, 0, None),
        (2, "您好，已为您催促仓库今天发出", None, 0, None),
        (3, "老客户，优先处理", None, 0, None),
        (4, "Do you ship to Hong Kong?", None, 0, None),
    ]
    assert q("SELECT id, status, priority, assignee_id, linked_conversation_id FROM conversations ORDER BY id") == [
        (1, "open", "p2", 2, None),
        (2, "resolved", "p3", None, None),
    ]
    assert q("SELECT conversation_id, label FROM conversation_labels ORDER BY label") == [(1, "vip"), (1, "退货")]
    assert q("SELECT count(*) FROM events") == [(2,)]
    assert q("SELECT email, role, is_active FROM users ORDER BY id") == [
        ("admin@shop.example", "admin", True),
        ("wang@shop.example", "agent", True),
    ]


async def test_the_current_kefu_serves_the_old_rows(upgraded: dict[str, Any]) -> None:
    backend = {k: upgraded[k] for k in ("name", "database_url", "redis_url")}
    prefix = f"kefu-upgrade-{uuid.uuid4().hex[:8]}:"
    async with (
        start_server(backend, port=free_port(), redis_prefix=prefix) as server,
        httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as erp,
        httpx.AsyncClient(base_url=server.base_url) as browser,
    ):
        r = await erp.get("/api/v1/conversations", params={"status": "open"})
        assert r.status_code == 200, r.text
        assert [(c["id"], c["subject"]) for c in r.json()["items"]] == [(1, "订单未发货")]
        r = await erp.get("/api/v1/conversations/1/messages")
        assert r.status_code == 200, r.text
        assert [(m["kind"], m["content"]) for m in r.json()] == [
            ("text", "你好，我的订单 202611250001 还没发货"),
            ("text", "您好，已为您催促仓库今天发出"),
            ("note", "老客户，优先处理"),
        ]
        r = await erp.post("/api/v1/conversations/1/messages", json={"content": "已发出，单号 SF123"})
        assert r.status_code == 201, r.text
        assert r.json()["id"] > 4
        r = await browser.post("/api/v1/auth/login", json={"email": "wang@shop.example", "password": PASSWORD})
        assert (r.status_code, r.json()["id"], r.json()["role"]) == (200, 2, "agent")
