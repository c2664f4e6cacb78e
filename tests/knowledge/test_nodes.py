"""Two app nodes: an edit on node A is searchable on node B (PostgreSQL + Redis: over the bus;
SQLite: two processes cannot share the in-process bus, so node B catches up by reconciling)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kefu.knowledge.index import KNOWLEDGE_INDEX
from tests.conftest import free_port
from tests.knowledge.data import create_faqs
from tests.support.factories import World
from tests.support.server import start_server


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_edit_on_node_a_is_searchable_on_node_b(api: World) -> None:
    server = api.server
    backend = {
        "name": server.backend,
        "database_url": server.settings.database_url,
        "redis_url": server.settings.redis_url,
    }
    faqs = await create_faqs(api)
    async with start_server(backend, port=free_port(), redis_prefix=server.settings.redis_prefix) as node_b:
        b = httpx.AsyncClient(
            base_url=node_b.base_url, headers={"Authorization": f"Bearer {api.admin.token}"}, timeout=20
        )
        try:
            if server.backend == "sqlite":
                node_b.state.services.get(KNOWLEDGE_INDEX).reconcile_every_s = 0.0  # no shared bus: reconcile on use

            async def ids_on_b(q: str) -> list[int]:
                r = await b.get("/api/v1/knowledge/search", params={"q": q, "k": 10})
                assert r.status_code == 200, r.text
                return [h["entry_id"] for h in r.json()]

            assert (await ids_on_b("我想退货"))[0] == faqs[0]["id"]  # node B has built its index

            body: dict[str, Any] = {
                "question": "优惠券怎么使用？",
                "variants": ["優惠券怎麼用"],
                "answer": "结算页选择可用优惠券即可抵扣。",
                "status": "published",
            }
            r = await api.http.post("/api/v1/knowledge/faqs", json=body)
            new_id = r.json()["id"]

            async def first_is_new() -> bool:
                return (await ids_on_b("优惠券怎么用"))[:1] == [new_id]

            await eventually(first_is_new)

            await api.http.post(f"/api/v1/knowledge/faqs/{new_id}/unpublish")

            async def gone() -> bool:
                return new_id not in await ids_on_b("优惠券怎么用")

            await eventually(gone)
            await api.http.post(f"/api/v1/knowledge/faqs/{faqs[0]['id']}/unpublish")

            async def first_gone() -> bool:
                return faqs[0]["id"] not in await ids_on_b("我想退货")

            await eventually(first_gone)
        finally:
            await b.aclose()
