"""The tickets pages over HTTP as a logged-in browser would use them (forms, redirects, error pages)."""

from __future__ import annotations

from kefu.core.constants import Role
from tests.support.factories import World
from tests.web.conftest import login


async def test_create_from_the_workspace_then_work_the_ticket(api: World) -> None:
    browser = await login(api, api.admin)
    _, conv = await api.conversation("我的退款还没到账")
    head = await browser.http.get(f"/app/c/{conv['id']}/head?lang=en")
    assert f'action="/app/tickets/from/{conv["id"]}"' in head.text and "Create ticket" in head.text
    r = await browser.post_form(f"/app/tickets/from/{conv['id']}", {"subject": "退款未到账"})
    assert r.status_code == 303
    url = r.headers["location"]
    ticket_id = int(url.rsplit("/", 1)[1])
    r = await browser.post_form(f"{url}/status", {"status": "pending"})
    assert r.status_code == 303
    r = await browser.post_form(f"{url}/notes", {"body": "等客户提供订单号"})
    assert r.status_code == 303
    page = await browser.http.get(f"{url}?lang=en")
    assert page.status_code == 200
    assert "#1001 退款未到账" in page.text and "等客户提供订单号" in page.text
    assert "changed the status" in page.text and f"Conversation {conv['id']}" in page.text
    assert '<dd id="ticket-contact">Visitor</dd>' in page.text
    ticket = (await api.http.get(f"/api/v1/tickets/{ticket_id}")).json()
    assert (ticket["status"], ticket["conversation_ids"]) == ("pending", [conv["id"]])
    side = await browser.http.get(f"/app/c/{conv['id']}/side?lang=en")
    assert f'<a href="/app/tickets/{ticket_id}">#1001</a>' in side.text and "退款未到账" in side.text
    refused = await browser.post_form(f"{url}/status", {"status": "new"})
    assert refused.status_code == 409 and "a pending ticket cannot become new" in refused.text
    empty = await browser.post_form(f"{url}/notes?lang=en", {"body": "  "})
    assert empty.status_code == 400 and "Write a note first." in empty.text


async def test_list_search_saved_view_and_chart_in_each_language(api: World) -> None:
    browser = await login(api, api.admin)
    await api.http.post("/api/v1/tickets", json={"subject": "发票抬头错误", "priority": "p1"})
    await api.http.post("/api/v1/tickets", json={"subject": "物流查询"})
    r = await browser.post_form("/app/tickets/views", {"name": "紧急", "priority": "p1"})
    assert r.status_code == 303 and r.headers["location"].startswith("/app/tickets?view=")
    view = await browser.http.get(r.headers["location"] + "&lang=en")
    assert "发票抬头错误" in view.text and "物流查询" not in view.text
    search = await browser.http.get("/app/tickets", params={"q": "物流", "lang": "en"})
    assert "物流查询" in search.text and "发票抬头错误" not in search.text
    visitor, conv = await api.conversation("hi")
    await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"name": "张三丰"})
    await api.http.post("/api/v1/tickets", json={"subject": "账号被锁", "conversation_id": conv["id"]})
    listed = await browser.http.get("/app/tickets", params={"q": "账号", "lang": "en"})
    assert "<td>张三丰</td>" in listed.text
    titles = {"zh_CN": "<h1>工单</h1>", "zh_TW": "<h1>工單</h1>", "en": "<h1>Tickets</h1>"}
    for lang, h1 in titles.items():
        page = await browser.http.get("/app/tickets", params={"lang": lang})
        assert page.status_code == 200 and h1 in page.text and '<svg class="rate-chart"' in page.text


async def test_admin_defines_fields_and_agents_fill_them(api: World) -> None:
    browser = await login(api, api.admin)
    r = await browser.post_form(
        "/admin/tickets/fields", {"key": "channel", "label": "渠道", "type": "select", "options": "app，web"}
    )
    assert r.status_code == 303
    bad = await browser.post_form("/admin/tickets/fields", {"key": "Bad Key", "label": "x", "type": "text"})
    assert bad.status_code == 400
    fields = (await api.http.get("/api/v1/tickets/fields")).json()
    assert [(f["key"], f["options"]) for f in fields] == [("channel", ["app", "web"])]
    ticket = (await api.http.post("/api/v1/tickets", json={"subject": "x"})).json()
    r = await browser.post_form(f"/app/tickets/{ticket['id']}", {"subject": "x", "cf_channel": "web"})
    assert r.status_code == 303
    wrong = await browser.post_form(f"/app/tickets/{ticket['id']}", {"subject": "x", "cf_channel": "phone"})
    assert wrong.status_code == 422 and "must be one of: app, web" in wrong.text
    assert (await api.http.get(f"/api/v1/tickets/{ticket['id']}")).json()["custom_fields"] == {"channel": "web"}
    long = await browser.post_form(f"/app/tickets/{ticket['id']}", {"subject": "x" * 301, "description": "d"})
    assert long.status_code == 400 and "subject" in long.text
    r = await browser.post_form(f"/app/tickets/{ticket['id']}", {"subject": "发票", "description": "a\r\nb"})
    assert r.status_code == 303
    page = await browser.http.get(f"/app/tickets/{ticket['id']}?lang=en")
    assert (await api.http.get(f"/api/v1/tickets/{ticket['id']}")).json()["description"] == "a\nb"
    assert "changed the subject" in page.text and "changed the description" in page.text
    window = await browser.post_form("/admin/tickets/settings", {"repeat_window_days": "30"})
    assert window.status_code == 303
    assert (await api.http.get("/api/v1/tickets/settings")).json() == {"repeat_window_days": 30}
    agent = await login(api, await api.user(Role.AGENT))
    assert (await agent.http.get("/admin/tickets/fields")).status_code == 403
    assert (await agent.http.get("/app/tickets")).status_code == 200
    assert 'id="delete-ticket"' not in (await agent.http.get(f"/app/tickets/{ticket['id']}")).text
    refused = await agent.post_form(f"/app/tickets/{ticket['id']}/delete", {})
    assert refused.status_code == 403 and (await api.http.get(f"/api/v1/tickets/{ticket['id']}")).status_code == 200
    assert 'id="delete-ticket"' in (await browser.http.get(f"/app/tickets/{ticket['id']}")).text
    gone = await browser.post_form(f"/app/tickets/{ticket['id']}/delete", {})
    assert (gone.status_code, gone.headers["location"]) == (303, "/app/tickets")
    assert (await api.http.get(f"/api/v1/tickets/{ticket['id']}")).status_code == 404
