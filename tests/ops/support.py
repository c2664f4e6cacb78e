"""Helpers of the operations tests: scratch databases, the `kefu` command, every table's rows, and a
realistic account filled through the live API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select

from kefu.core.db import make_engine
from tests.conftest import PG_URL, _pg_admin
from tests.support.factories import World, uniq
from tests.support.files import pdf, png

ROOT = Path(__file__).resolve().parents[2]


def pg_url_named(name: str) -> str:
    assert PG_URL
    return PG_URL.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def scratch_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database of `kind` (sqlite: a file in `directory`; postgres: a database
    with a unique name on the test server, dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / f'{uniq()}.db'}"
        return
    name = f"kefu_ops_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _pg_admin(pg_url_named("postgres"), f'CREATE DATABASE "{name}"')
    try:
        yield pg_url_named(name)
    finally:
        _pg_admin(pg_url_named("postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq(url: str) -> str:
    """The libpq form of a PostgreSQL URL (for pg_dump / pg_restore / psql)."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def kefu(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the `kefu` command as an operator would, with only the given KEFU_* variables."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    full.update({"KEFU_DATABASE_URL": database_url, "KEFU_ENV": "test", **env})
    return subprocess.run(
        [sys.executable, "-m", "kefu.cli", *args], env=full, capture_output=True, text=True, timeout=300
    )


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""

    async def run() -> dict[str, list[tuple[Any, ...]]]:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                meta = MetaData()
                await conn.run_sync(meta.reflect)
                out = {}
                for name, table in sorted(meta.tables.items()):
                    order = list(table.primary_key.columns) or list(table.columns)
                    out[name] = [tuple(r) for r in (await conn.execute(select(table).order_by(*order))).all()]
                return out
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def fill(world: World) -> dict[str, Any]:
    """An account as a small company has it after a day: a team, an agent, a widget inbox, two customers
    (Chinese and English) with files both ways, a note, labels, a resolved conversation, FAQ and an article."""
    team = (await world.http.post("/api/v1/teams", json={"name": "售后 After-sales"})).json()
    inbox = await world.inbox(team_id=team["id"], greeting="您好，有什么可以帮您？")
    agent = await world.user(name="小王")
    zh = await world.visitor(inbox, name="李女士")
    first = await zh.say("你好，我的订单 202612070001 还没发货")
    cid = first["conversation_id"]
    photo = (
        await zh.client.post(
            f"/api/v1/widget/{zh.inbox_key}/attachments",
            files={"file": ("破损.png", png(3, 2, (10, 200, 30)), "image/png")},
            headers=zh.headers,
        )
    ).json()
    await zh.say("包装破损了，见图", client_message_id=uniq())
    r = await zh.client.post(
        f"/api/v1/widget/{zh.inbox_key}/messages",
        json={"content": "破损.png", "client_message_id": uniq(), "attachments": [{"id": photo["id"]}]},
        headers=zh.headers,
    )
    assert r.status_code == 201, r.text
    doc = (
        await agent.client.post("/api/v1/attachments", files={"file": ("退货单.pdf", pdf(), "application/pdf")})
    ).json()
    for body in (
        {"content": "非常抱歉，已为您登记退货", "attachments": [{"id": doc["id"]}]},
        {"content": "客户是老用户，优先处理", "kind": "note"},
    ):
        r = await agent.client.post(f"/api/v1/conversations/{cid}/messages", json=body)
        assert r.status_code == 201, r.text
    r = await agent.client.put(f"/api/v1/conversations/{cid}/labels", json={"labels": ["退货", "vip"]})
    assert r.status_code == 200, r.text
    en = await world.visitor(inbox, name="Ms Smith")
    other = (await en.say("Hello, do you ship to Hong Kong?"))["conversation_id"]
    r = await world.http.post(f"/api/v1/conversations/{other}/status", json={"status": "resolved"})
    assert r.status_code == 200, r.text
    faq = {"question": "怎么申请退款？", "variants": ["我想退款"], "answer": "在订单页申请。", "status": "published"}
    assert (await world.http.post("/api/v1/knowledge/faqs", json=faq)).status_code == 201
    article = {"title": "配送范围 Delivery", "body": "我们配送至中国大陆、香港和台湾。"}
    assert (await world.http.post("/api/v1/knowledge/articles", json=article)).status_code == 201
    return {"conversation_id": cid, "photo": photo, "doc": doc}
