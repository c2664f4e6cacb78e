"""A database as the first release left it: created at revision 0001 and filled with the rows an account had
then, written with SQL against that schema (the current models do not fit it). tests/ops/conftest.py
migrates it to head and lets the current server use it; tests/ops/test_upgrade.py and test_backup.py check it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from kefu.auth.passwords import hash_password
from kefu.auth.tokens import token_hash
from kefu.core.db import make_engine

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


async def insert_rows_at_0001(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for name, rows in _rows_at_0001().items():
                await conn.execute(sa.insert(_table(name, rows)), rows)
                if conn.dialect.name == "postgresql" and "id" in rows[0]:  # move the sequence past the named ids
                    await conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 100)"))
    finally:
        await engine.dispose()


async def select(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(sa.text(sql))).all()]
    finally:
        await engine.dispose()


REPLY = "已发出，单号 SF123"


async def observe(base_url: str) -> dict[str, Any]:
    """What the current server answers about the old rows: the old token lists the open conversation and
    its messages and replies in it; the old password logs the agent in."""
    seen: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20) as erp,
        httpx.AsyncClient(base_url=base_url, timeout=20) as browser,
    ):
        r = await erp.get("/api/v1/conversations", params={"status": "open"})
        seen["open"] = (r.status_code, [(c["id"], c["subject"]) for c in r.json().get("items", [])])
        r = await erp.get("/api/v1/conversations/1/messages")
        seen["messages"] = (r.status_code, [(m["kind"], m["content"]) for m in r.json()] if r.is_success else r.text)
        r = await erp.post("/api/v1/conversations/1/messages", json={"content": REPLY})
        seen["reply"] = (r.status_code, r.json().get("id"))
        r = await browser.post("/api/v1/auth/login", json={"email": "wang@shop.example", "password": PASSWORD})
        seen["login"] = (r.status_code, r.json().get("id"), r.json().get("role"))
    return seen
