"""Publishing makes an entry searchable, unpublishing/deleting removes it; zh, zh-TW and en queries
find the right entry first; accounts never see each other's knowledge; the public help centre."""

from __future__ import annotations

from typing import Any

from tests.knowledge.data import FAQS, create_faqs
from tests.support.factories import World, new_account


async def search(world: World, q: str, **params: Any) -> list[dict[str, Any]]:
    r = await world.http.get("/api/v1/knowledge/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_right_entry_first_for_zh_zh_tw_and_en(api: World) -> None:
    faqs = await create_faqs(api)
    by_question = {f["question"]: f["id"] for f in faqs}
    expectations = [
        ("我想退货，怎么操作", "如何申请退货？"),
        ("請問退款多久會到帳", "退款多久到账？"),
        ("我的订单什么时候发货", "订单什么时候发货？"),
        ("可以幫我開發票嗎", "如何开发票？"),
        ("地址填错了想改一下", "怎么修改收货地址？"),
        ("where is my parcel", "How can I track my package?"),
        ("I want to send this back", "How do I return an item?"),
    ]
    for query, question in expectations:
        hits = await search(api, query)
        assert hits[0]["entry_id"] == by_question[question], (query, [h["title"] for h in hits])
        assert hits[0]["entry_kind"] == "faq"
    hit = (await search(api, "怎麼退貨", k=1))[0]
    faq = next(f for f in FAQS if f["question"] == "如何申请退货？")
    assert {k: hit[k] for k in ("title", "answer", "matched_text", "language", "category")} == {
        "title": "如何申请退货？",
        "answer": faq["answer"],
        "matched_text": "怎麼退貨",
        "language": "zh",
        "category": "退换货",
    }
    assert hit["score"] > 0 and hit["bm25_score"] > 0 and 0.5 < hit["dense_score"] <= 1.0001
    # language filter: "en" keeps only English entries, "zh-TW" matches the zh entries.
    assert {h["language"] for h in await search(api, "return", k=10, language="en")} == {"en"}
    assert {h["language"] for h in await search(api, "退货", k=10, language="zh-TW")} == {"zh"}


async def test_publish_unpublish_edit_and_delete_change_search(api: World) -> None:
    await create_faqs(api)
    r = await api.http.post(
        "/api/v1/knowledge/faqs",
        json={"question": "会员积分怎么用？", "variants": ["積分怎麼用"], "answer": "积分可在结算时抵扣现金。"},
    )
    draft = r.json()
    assert draft["id"] not in [h["entry_id"] for h in await search(api, "会员积分怎么用", k=10)]

    await api.http.post(f"/api/v1/knowledge/faqs/{draft['id']}/publish")
    hits = await search(api, "会员积分怎么用")
    assert (hits[0]["entry_id"], hits[0]["answer"]) == (draft["id"], "积分可在结算时抵扣现金。")

    await api.http.patch(f"/api/v1/knowledge/faqs/{draft['id']}", json={"answer": "积分 100 分抵 1 元。"})
    assert (await search(api, "会员积分怎么用"))[0]["answer"] == "积分 100 分抵 1 元。"

    await api.http.post(f"/api/v1/knowledge/faqs/{draft['id']}/unpublish")
    assert draft["id"] not in [h["entry_id"] for h in await search(api, "会员积分怎么用", k=20)]

    await api.http.post(f"/api/v1/knowledge/faqs/{draft['id']}/publish")
    assert (await search(api, "会员积分怎么用"))[0]["entry_id"] == draft["id"]
    await api.http.delete(f"/api/v1/knowledge/faqs/{draft['id']}")
    assert draft["id"] not in [h["entry_id"] for h in await search(api, "会员积分怎么用", k=20)]


async def test_articles_are_searched_by_paragraph(api: World) -> None:
    scope = "## 配送范围\n" + "我们向全国大陆地区配送，偏远地区时效会延长一到三天。" * 10
    fee = "## 运费\n订单满 99 元包邮，不满 99 元收取 8 元运费。"
    hours = "## 客服时间\n" + "人工客服每天早上九点到晚上九点在线，节假日照常服务。" * 10
    r = await api.http.post(
        "/api/v1/knowledge/articles",
        json={"title": "配送说明", "body": "\n\n".join([scope, fee, hours]), "status": "published"},
    )
    art = r.json()
    await create_faqs(api)
    hit = (await search(api, "运费怎么算，满多少包邮"))[0]
    assert (hit["entry_kind"], hit["entry_id"], hit["title"]) == ("article", art["id"], "配送说明")
    assert hit["matched_text"] == fee
    assert hit["answer"] == "## 运费 订单满 99 元包邮，不满 99 元收取 8 元运费。"


async def test_accounts_never_see_each_others_knowledge(api: World) -> None:
    mine = await create_faqs(api)
    async with new_account(api.server) as other:
        assert await search(other, "我想退货") == []
        faq_id = mine[0]["id"]
        for method, path in [
            ("GET", f"/api/v1/knowledge/faqs/{faq_id}"),
            ("PATCH", f"/api/v1/knowledge/faqs/{faq_id}"),
            ("DELETE", f"/api/v1/knowledge/faqs/{faq_id}"),
            ("POST", f"/api/v1/knowledge/faqs/{faq_id}/publish"),
            ("POST", f"/api/v1/knowledge/faqs/{faq_id}/unpublish"),
            ("GET", f"/api/v1/knowledge/faqs/{faq_id}/history"),
        ]:
            r = await other.http.request(method, path, json={"answer": "hijack"} if method == "PATCH" else None)
            assert (r.status_code, r.json()["error"]["message"]) == (404, f"FAQ entry {faq_id} not found"), path
        assert (await other.http.get("/api/v1/knowledge/faqs")).json()["items"] == []
        r = await other.http.post("/api/v1/knowledge/faqs", json={**FAQS[0], "status": "published"})
        theirs = r.json()["id"]
        assert [h["entry_id"] for h in await search(other, "我想退货", k=20)] == [theirs]
    hits = await search(api, "我想退货", k=20)
    assert theirs not in [h["entry_id"] for h in hits]
    r = await api.http.get(f"/api/v1/knowledge/faqs/{faq_id}")
    assert (r.json()["answer"], r.json()["status"], r.json()["version"]) == (FAQS[0]["answer"], "published", 1)


async def test_public_help_centre(api: World) -> None:
    inbox = await api.inbox()
    faqs = await create_faqs(api)
    r = await api.http.post("/api/v1/knowledge/faqs", json={"question": "内部草稿：退货", "answer": "未发布"})
    draft_id = r.json()["id"]
    anonymous = api.client()
    key = inbox["public_key"]

    r = await anonymous.get(f"/api/v1/help/{key}/search", params={"q": "怎么退货"})
    assert r.status_code == 200, r.text
    assert r.json()[0]["entry_id"] == faqs[0]["id"]
    assert draft_id not in [h["entry_id"] for h in r.json()]

    r = await anonymous.get(f"/api/v1/help/{key}/faqs", params={"limit": 5})
    page = r.json()
    assert [f["id"] for f in page["items"]] == [f["id"] for f in faqs[::-1][:5]]
    r = await anonymous.get(f"/api/v1/help/{key}/faqs", params={"cursor": page["next_cursor"]})
    assert [f["id"] for f in r.json()["items"]] == [faqs[1]["id"], faqs[0]["id"]]
    assert set(r.json()["items"][0]) == {"id", "question", "answer", "category", "language", "updated_at"}
    r = await anonymous.get(f"/api/v1/help/{key}/faqs", params={"language": "en"})
    assert [f["question"] for f in r.json()["items"]] == ["How can I track my package?", "How do I return an item?"]

    for path in ("/api/v1/help/nope/search?q=x", "/api/v1/help/nope/faqs"):
        r = await anonymous.get(path)
        assert (r.status_code, r.json()["error"]["message"]) == (404, "help centre nope not found")
