"""Upgrades (docs/operations.md#upgrades): a database created at the first migration and filled with the rows a
company had then (tests/ops/legacy.py) is migrated to head on SQLite and PostgreSQL by `kefu migrate`; every row
is still there, the data migrations did their part, and the current kefu serves the old rows — the old API
token, the old password, the old conversations and messages (tests/ops/conftest.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kefu.core.revisions import head
from tests.ops.conftest import History
from tests.ops.legacy import REPLY, select
from tests.ops.support import kefu


def test_migrate_check_names_what_is_pending_then_passes(history: History) -> None:
    before = history.check_before
    assert before.returncode == 1 and before.stdout == ""
    versions = Path(__file__).resolve().parents[2] / "src" / "kefu" / "migrations" / "versions"
    pending = len(list(versions.glob("0*.py"))) - 1  # every revision after the first
    assert before.stderr.startswith(f"database at 0001, {pending} migrations pending (0002 … ")
    assert before.stderr.endswith(f"{head()}): {history.url}; run kefu migrate\n")
    after = kefu("migrate", "--check", database_url=history.url)
    assert (after.returncode, after.stderr) == (0, "")
    assert after.stdout == f"database at {head()} (up to date): {history.url}\n"


def test_every_row_is_kept_and_the_data_migrations_ran(history: History) -> None:
    def q(sql: str) -> list[tuple[Any, ...]]:
        return asyncio.run(select(history.url, sql))

    assert q("SELECT id, name, tier, merged_into_id FROM contacts WHERE account_id = 1 ORDER BY id") == [
        (1, "李女士", "vip", None),
        (2, "Ms Smith", "normal", None),  # 0011: a tier outside the closed set became "normal"
        (3, "陳先生", "normal", None),
    ]
    assert q("SELECT id, content, delivery_status, delivery_attempts, inbox_id FROM messages WHERE id <= 4") == [
        (1, "你好，我的订单 202611250001 还没发货", None, 0, None),
        (2, "您好，已为您催促仓库今天发出", None, 0, None),
        (3, "老客户，优先处理", None, 0, None),
        (4, "Do you ship to Hong Kong?", None, 0, None),
    ]
    assert q(
        "SELECT id, status, priority, assignee_id, linked_conversation_id FROM conversations"
        " WHERE account_id = 1 ORDER BY id"
    ) == [(1, "open", "p2", 2, None), (2, "resolved", "p3", None, None)]
    assert q("SELECT conversation_id, label FROM conversation_labels WHERE account_id = 1 ORDER BY label") == [
        (1, "vip"),
        (1, "退货"),
    ]
    assert q("SELECT id, type FROM events WHERE id <= 2 ORDER BY id") == [
        (1, "message.created"),
        (2, "conversation.status_changed"),
    ]
    assert q("SELECT email, role, is_active FROM users WHERE account_id = 1 ORDER BY id") == [
        ("admin@shop.example", "admin", True),
        ("wang@shop.example", "agent", True),
    ]


def test_the_current_kefu_serves_the_old_rows(history: History) -> None:
    served = history.served
    assert served["open"] == (200, [(1, "订单未发货")])
    assert served["messages"] == (
        200,
        [
            ("text", "你好，我的订单 202611250001 还没发货"),
            ("text", "您好，已为您催促仓库今天发出"),
            ("note", "老客户，优先处理"),
        ],
    )
    assert served["reply"][0] == 201 and served["reply"][1] > 4  # ids continue after the old rows
    assert served["login"] == (200, 2, "agent")
    rows = asyncio.run(select(history.url, "SELECT content FROM messages WHERE conversation_id = 1 ORDER BY id"))
    assert rows[-1] == (REPLY,)
