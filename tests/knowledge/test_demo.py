"""The demo FAQ set loads, is idempotent, and answers zh / zh-TW / en questions with the right entry."""

from __future__ import annotations

import httpx

from kefu.knowledge.demo import seed_knowledge
from tests.support.factories import World


async def test_demo_faq_seeds_once_and_answers(api: World) -> None:
    async with api.server.state.sessionmaker() as session:
        assert await seed_knowledge(session, api.account_id) == 37
        assert await seed_knowledge(session, api.account_id) == 0
    r = await api.http.get("/api/v1/knowledge/faqs", params={"status": "published", "limit": 100})
    assert len(r.json()["items"]) == 37
    # The first search embeds all 214 texts of the demo set (seconds on a busy CPU): allow for it.
    client = api.client(api.admin.token)
    client.timeout = httpx.Timeout(180)
    for query, question in [
        ("我买的衣服不想要了，怎么退", "如何申请退货？"),
        ("退款幾天會到帳", "退款多久到账？"),
        ("能不能开专票", "可以开增值税专用发票吗？"),
        ("my parcel hasn't arrived, where is it", "How can I track my package?"),
    ]:
        r = await client.get("/api/v1/knowledge/search", params={"q": query, "k": 3})
        assert r.json()[0]["title"] == question, (query, [h["title"] for h in r.json()])
