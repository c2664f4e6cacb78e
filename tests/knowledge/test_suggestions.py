"""Unanswered questions → suggested FAQ entries: customers ask what the knowledge base does not answer,
the bot falls back; an admin sees the questions grouped by meaning with the agent's reply as the
suggested answer, dismisses one group, turns the other into an FAQ entry — and the suggestion goes away."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.factories import World, new_account
from tests.web.conftest import login

INVOICE = ["可以开发票吗", "能开发票吗？", "请问可以开发票吗"]
WEEKEND = "你们周末上班吗"
AGENT_REPLY = "可以的，在订单详情页申请电子发票。"


async def _decided(api: World, n: int) -> list[dict[str, Any]]:
    for _ in range(150):  # the first message loads the models and builds the index
        r = await api.http.get("/api/v1/events", params={"type": "bot.decided", "limit": 100})
        body = r.json()
        items = body["items"] if isinstance(body, dict) else body
        if len(items) >= n:
            return items  # type: ignore[no-any-return]
        await asyncio.sleep(0.2)
    raise AssertionError(f"expected {n} bot decisions")


async def _suggestions(api: World, **params: Any) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/knowledge/suggestions", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_unanswered_questions_become_faq_suggestions(api: World) -> None:
    r = await api.http.post(
        "/api/v1/knowledge/faqs",
        json={"question": "怎么申请退款？", "answer": "在订单页申请退款。", "status": "published"},
    )
    assert r.status_code == 201, r.text
    inbox = await api.inbox(bot_enabled=True)
    asked = []
    for text in [*INVOICE, WEEKEND]:
        visitor = await api.visitor(inbox)
        asked.append(await visitor.say(text))
    decisions = await _decided(api, 4)
    assert sorted(d["payload"]["action"] for d in decisions) == ["fallback"] * 4
    r = await api.http.post(
        f"/api/v1/conversations/{asked[1]['conversation_id']}/messages", json={"content": AGENT_REPLY}
    )
    assert r.status_code == 201, r.text

    groups = await _suggestions(api)
    assert len(groups) == 1
    invoice = groups[0]
    assert sorted([invoice["question"], *invoice["variants"]]) == sorted(INVOICE)
    assert (invoice["count"], invoice["suggested_answer"]) == (3, AGENT_REPLY)
    assert invoice["message_ids"] == [m["id"] for m in asked[:3]]
    assert invoice["conversation_ids"] == sorted(m["conversation_id"] for m in asked[:3])
    everything = await _suggestions(api, min_count=1)
    assert [(g["question"], g["count"], g["suggested_answer"]) for g in everything[1:]] == [(WEEKEND, 1, None)]

    # Another account sees none of it, and cannot dismiss it.
    async with new_account(api.server) as other:
        assert await _suggestions(other, min_count=1) == []
        r = await other.http.post("/api/v1/knowledge/suggestions/dismiss", json={"message_ids": [asked[3]["id"]]})
        assert (r.status_code, r.json()["error"]["message"]) == (
            400,
            f"not customer messages of this account: {asked[3]['id']}",
        )
    r = await api.http.post("/api/v1/knowledge/suggestions/dismiss", json={"message_ids": []})
    assert r.status_code == 422

    # The admin pages: the suggestion with a prefilled "create" link; dismiss the weekend question.
    browser = await login(api, api.admin, cookies={"kefu_locale": "zh_CN"})
    page = await browser.http.get("/admin/knowledge/suggestions?min_count=1")
    assert page.status_code == 200
    assert page.text.count('<tr data-count="') == 2 and "3 次" in page.text and AGENT_REPLY in page.text
    assert "/admin/knowledge/faqs/new?question=" in page.text
    form = await browser.http.get(
        "/admin/knowledge/faqs/new",
        params={"question": INVOICE[0], "variants": "\n".join(INVOICE[1:]), "answer": AGENT_REPLY},
    )
    assert form.status_code == 200 and AGENT_REPLY in form.text and INVOICE[2] in form.text
    r = await browser.post_form("/admin/knowledge/suggestions/dismiss", {"message_ids": str(asked[3]["id"])})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/knowledge/suggestions")
    assert [g["count"] for g in await _suggestions(api, min_count=1)] == [3]
    r = await api.http.post("/api/v1/knowledge/suggestions/dismiss", json={"message_ids": [asked[3]["id"]]})
    assert r.json() == {"dismissed": 0}  # already dismissed

    # Once the knowledge base answers it, the group is no longer suggested.
    r = await api.http.post(
        "/api/v1/knowledge/faqs",
        json={"question": INVOICE[0], "variants": INVOICE[1:], "answer": AGENT_REPLY, "status": "published"},
    )
    assert r.status_code == 201, r.text
    assert await _suggestions(api, min_count=1) == []
