"""FAQ and article CRUD over HTTP: versions, history, publish, delete, permissions, bad input."""

from __future__ import annotations

from typing import Any

from kefu.core.constants import Role
from tests.support.factories import World

FAQ = {
    "question": "如何申请退货？",
    "variants": ["怎么退货", "如何申請退貨？", "怎么退货"],
    "answer": "在“我的订单”中点击“申请退货”。",
    "category": "退换货",
    "tags": ["退货", "售后"],
    "language": "zh",
}


async def _events(world: World) -> list[tuple[str, int, int]]:
    r = await world.http.get("/api/v1/events?limit=500")
    assert r.status_code == 200, r.text
    return [
        (e["type"], e["payload"]["id"], e["payload"]["version"]) for e in r.json() if e["type"].startswith("knowledge.")
    ]


async def test_faq_lifecycle_versions_and_history(api: World) -> None:
    r = await api.http.post("/api/v1/knowledge/faqs", json=FAQ)
    assert r.status_code == 201, r.text
    faq = r.json()
    assert {k: faq[k] for k in ("question", "variants", "answer", "category", "tags", "language")} == {
        **FAQ,
        "variants": ["怎么退货", "如何申請退貨？"],  # duplicates dropped, order kept
    }
    assert (faq["status"], faq["version"], faq["author_id"]) == ("draft", 1, api.admin.id)

    r = await api.http.patch(f"/api/v1/knowledge/faqs/{faq['id']}", json={"answer": "请在订单页申请退货。"})
    assert r.status_code == 200, r.text
    assert (r.json()["answer"], r.json()["version"]) == ("请在订单页申请退货。", 2)

    # An edit that changes nothing keeps the version.
    r = await api.http.patch(f"/api/v1/knowledge/faqs/{faq['id']}", json={"answer": "请在订单页申请退货。"})
    assert r.json()["version"] == 2

    # Optimistic concurrency: a stale expected_version is refused and changes nothing.
    r = await api.http.patch(f"/api/v1/knowledge/faqs/{faq['id']}", json={"answer": "x", "expected_version": 1})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == f"FAQ entry {faq['id']} is at version 2, not 1; reload it"

    r = await api.http.post(f"/api/v1/knowledge/faqs/{faq['id']}/publish")
    assert (r.status_code, r.json()["status"], r.json()["version"]) == (200, "published", 3)
    r = await api.http.post(f"/api/v1/knowledge/faqs/{faq['id']}/publish")  # already published: no-op
    assert (r.json()["status"], r.json()["version"]) == ("published", 3)

    r = await api.http.get(f"/api/v1/knowledge/faqs/{faq['id']}/history")
    assert r.status_code == 200
    history = r.json()
    assert [h["version"] for h in history] == [3, 2, 1]
    assert [h["snapshot"]["status"] for h in history] == ["published", "draft", "draft"]
    assert [h["snapshot"]["answer"] for h in history] == ["请在订单页申请退货。", "请在订单页申请退货。", FAQ["answer"]]
    assert history[2]["snapshot"] == {**FAQ, "variants": ["怎么退货", "如何申請退貨？"], "status": "draft"}
    assert {h["editor_id"] for h in history} == {api.admin.id}

    # Restore v1's content: a new version 4 with v1's answer, still published; the event says so.
    r = await api.http.post(f"/api/v1/knowledge/faqs/{faq['id']}/history/1/restore")
    assert r.status_code == 200, r.text
    assert (r.json()["answer"], r.json()["status"], r.json()["version"]) == (FAQ["answer"], "published", 4)
    r = await api.http.post(f"/api/v1/knowledge/faqs/{faq['id']}/history/4/restore")  # the current content
    assert r.json()["version"] == 4
    r = await api.http.post(f"/api/v1/knowledge/faqs/{faq['id']}/history/5/restore")
    assert (r.status_code, r.json()["error"]["message"]) == (404, f"version 5 of FAQ entry {faq['id']} not found")
    events = (await api.http.get("/api/v1/events?limit=500")).json()
    restored = [e for e in events if e["type"] == "knowledge.entry_updated" and e["payload"]["version"] == 4]
    assert [(e["payload"]["changed"], e["payload"]["restored_from"]) for e in restored] == [(["answer"], 1)]
    hits = (await api.http.get("/api/v1/knowledge/search", params={"q": "我的订单 申请退货"})).json()
    assert [h["answer"] for h in hits if h["entry_id"] == faq["id"]] == [FAQ["answer"]]

    r = await api.http.delete(f"/api/v1/knowledge/faqs/{faq['id']}")
    assert r.status_code == 204
    for path in ("", "/history"):
        r = await api.http.get(f"/api/v1/knowledge/faqs/{faq['id']}{path}")
        assert r.status_code == 404
        assert r.json()["error"]["message"] == f"FAQ entry {faq['id']} not found"
    assert await _events(api) == [
        ("knowledge.entry_created", faq["id"], 1),
        ("knowledge.entry_updated", faq["id"], 2),
        ("knowledge.entry_published", faq["id"], 3),
        ("knowledge.entry_updated", faq["id"], 4),
        ("knowledge.entry_deleted", faq["id"], 4),
    ]


async def test_article_crud_and_publish(api: World) -> None:
    body = {"title": "退换货政策", "body": "## 七天无理由\n\n签收后 7 天内可申请退货。", "category": "售后"}
    r = await api.http.post("/api/v1/knowledge/articles", json=body)
    assert r.status_code == 201, r.text
    art = r.json()
    assert (art["title"], art["body_format"], art["status"], art["version"], art["language"]) == (
        "退换货政策",
        "markdown",
        "draft",
        1,
        "zh",
    )
    r = await api.http.patch(
        f"/api/v1/knowledge/articles/{art['id']}", json={"title": "退換貨政策", "language": "zh-TW"}
    )
    assert (r.status_code, r.json()["title"], r.json()["language"], r.json()["version"]) == (
        200,
        "退換貨政策",
        "zh-TW",
        2,
    )
    r = await api.http.post(f"/api/v1/knowledge/articles/{art['id']}/publish")
    assert (r.json()["status"], r.json()["version"]) == ("published", 3)
    r = await api.http.post(f"/api/v1/knowledge/articles/{art['id']}/unpublish")
    assert (r.json()["status"], r.json()["version"]) == ("draft", 4)
    r = await api.http.get(f"/api/v1/knowledge/articles/{art['id']}/history")
    assert [(h["version"], h["snapshot"]["title"], h["snapshot"]["status"]) for h in r.json()] == [
        (4, "退換貨政策", "draft"),
        (3, "退換貨政策", "published"),
        (2, "退換貨政策", "draft"),
        (1, "退换货政策", "draft"),
    ]
    assert (await api.http.delete(f"/api/v1/knowledge/articles/{art['id']}")).status_code == 204
    assert (await api.http.get(f"/api/v1/knowledge/articles/{art['id']}")).status_code == 404


async def test_list_filters_and_cursor_pagination(api: World) -> None:
    ids = []
    for i, (cat, lang, status) in enumerate(
        [
            ("物流", "zh", "published"),
            ("发票", "zh", "draft"),
            ("shipping", "en", "published"),
            ("物流", "zh-TW", "draft"),
        ]
    ):
        body = {
            "question": f"问题 {i} 100%_ok",
            "answer": f"答案 {i}",
            "category": cat,
            "language": lang,
            "status": status,
        }
        r = await api.http.post("/api/v1/knowledge/faqs", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    async def listed(query: str) -> list[int]:
        r = await api.http.get(f"/api/v1/knowledge/faqs?{query}")
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    assert await listed("") == ids[::-1]
    assert await listed("status=published") == [ids[2], ids[0]]
    assert await listed("category=物流") == [ids[3], ids[0]]
    assert await listed("language=zh-TW") == [ids[3]]
    assert await listed("q=答案 1") == [ids[1]]
    assert await listed("q=100%25_OK") == ids[::-1]  # LIKE wildcards are literal, case-insensitive
    assert await listed("q=100%25x") == []

    r = await api.http.get("/api/v1/knowledge/faqs?limit=3")
    first = r.json()
    assert [i["id"] for i in first["items"]] == ids[:0:-1]
    r = await api.http.get(f"/api/v1/knowledge/faqs?limit=3&cursor={first['next_cursor']}")
    assert ([i["id"] for i in r.json()["items"]], r.json()["next_cursor"]) == ([ids[0]], None)

    r = await api.http.get("/api/v1/knowledge/categories")
    assert r.json() == sorted(["物流", "发票", "shipping"])


async def test_agents_read_but_may_not_edit(api: World) -> None:
    r = await api.http.post("/api/v1/knowledge/faqs", json=FAQ)
    faq = r.json()
    agent = await api.user(Role.AGENT)
    assert (await agent.client.get(f"/api/v1/knowledge/faqs/{faq['id']}")).status_code == 200
    for method, path, body in [
        ("POST", "/api/v1/knowledge/faqs", FAQ),
        ("PATCH", f"/api/v1/knowledge/faqs/{faq['id']}", {"answer": "changed"}),
        ("POST", f"/api/v1/knowledge/faqs/{faq['id']}/publish", None),
        ("DELETE", f"/api/v1/knowledge/faqs/{faq['id']}", None),
    ]:
        r = await agent.client.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["message"] == "your role (agent) may not manage knowledge"
    r = await api.http.get(f"/api/v1/knowledge/faqs/{faq['id']}")
    assert (r.json()["answer"], r.json()["status"], r.json()["version"]) == (FAQ["answer"], "draft", 1)
    assert (await api.http.get("/api/v1/knowledge/faqs")).json()["items"] == [r.json()]

    supervisor = await api.user(Role.SUPERVISOR)
    r = await supervisor.client.patch(f"/api/v1/knowledge/faqs/{faq['id']}", json={"answer": "主管改的"})
    assert (r.status_code, r.json()["version"]) == (200, 2)


async def test_bad_input_is_a_clear_4xx(api: World) -> None:
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/api/v1/knowledge/faqs", {"answer": "a"}, 422, "question: Field required"),
        (
            "POST",
            "/api/v1/knowledge/faqs",
            {**FAQ, "question": "  "},
            422,
            "question: String should have at least 1 character",
        ),
        (
            "POST",
            "/api/v1/knowledge/faqs",
            {**FAQ, "language": "Chinese"},
            422,
            "language: String should match pattern '^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$'",
        ),
        (
            "POST",
            "/api/v1/knowledge/faqs",
            {**FAQ, "status": "live"},
            422,
            "status: Input should be 'draft' or 'published'",
        ),
        (
            "POST",
            "/api/v1/knowledge/faqs",
            {**FAQ, "variants": ["x"] * 51},
            422,
            "variants: List should have at most 50 items after validation, not 51",
        ),
        ("POST", "/api/v1/knowledge/faqs", {**FAQ, "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        (
            "PATCH",
            "/api/v1/knowledge/faqs/99999999999999999999",
            {"answer": "a"},
            422,
            "path.faq_id: Input should be less than or equal to 9223372036854775807",
        ),
        ("GET", "/api/v1/knowledge/faqs/0", None, 422, "path.faq_id: Input should be greater than or equal to 1"),
        (
            "GET",
            "/api/v1/knowledge/faqs?cursor=nope",
            None,
            422,
            "query.cursor: String should match pattern '^[1-9][0-9]{0,17}$'",
        ),
        (
            "GET",
            "/api/v1/knowledge/faqs?limit=1000",
            None,
            422,
            "query.limit: Input should be less than or equal to 100",
        ),
        ("GET", "/api/v1/knowledge/search", None, 422, "query.q: Field required"),
        ("GET", "/api/v1/knowledge/search?q=x&k=0", None, 422, "query.k: Input should be greater than or equal to 1"),
        (
            "POST",
            "/api/v1/knowledge/articles",
            {"title": "t", "body": "b", "body_format": "html"},
            422,
            "body_format: Input should be 'markdown' or 'plain'",
        ),
    ]
    for method, path, body, status, message in cases:
        r = await api.http.request(method, path, json=body)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]["message"] == message, path
    r = await api.http.post(
        "/api/v1/knowledge/faqs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_json")
    assert (await api.http.get("/api/v1/knowledge/faqs")).json()["items"] == []


async def test_nulls_in_an_update_are_refused_and_change_nothing(api: World) -> None:
    """Regression (found by schemathesis): `"body_format": null` was stored as the string 'None' → 500.
    A field may be left out of an update; null is refused where it means nothing (422)."""
    art = (await api.http.post("/api/v1/knowledge/articles", json={"title": "t", "body": "b"})).json()
    r = await api.http.patch(
        f"/api/v1/knowledge/articles/{art['id']}", json={"body": "b2", "body_format": None, "category": None}
    )
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["error"]["details"]] == ["body_format", "category"]
    got = (await api.http.get(f"/api/v1/knowledge/articles/{art['id']}")).json()
    assert (got["body"], got["body_format"], got["version"]) == ("b", "markdown", 1)
    r = await api.http.patch(f"/api/v1/knowledge/articles/{art['id']}", json={"body": "b2", "expected_version": None})
    assert (r.status_code, r.json()["version"]) == (200, 2)
