"""/admin/bot pages over the live server: intents, flows with field-path errors, settings, try-it."""

from __future__ import annotations

import html
import json

from kefu.bot.demo import order_flow_definition
from kefu.core.constants import Role
from tests.support.factories import World

HX = {"HX-Request": "true"}


async def test_intent_and_flow_pages(api: World) -> None:
    r = await api.http.post(
        "/admin/bot/intents",
        data={"name": "refund", "examples": "我要退款\nrefund please\n", "reply_zh": "请在订单页申请退款"},
    )
    assert r.status_code == 303, r.text
    page = await api.http.get("/admin/bot/intents")
    assert page.status_code == 200
    assert "refund" in page.text and "我要退款 / refund please" in page.text
    intent = (await api.http.get("/api/v1/bot/intents")).json()[0]
    assert (intent["examples"], intent["reply"]) == (["我要退款", "refund please"], {"zh": "请在订单页申请退款"})

    # the builder's JSON view (a post without `view` but with `definition`, as older clients send)
    bad = order_flow_definition("http://127.0.0.1:8000")
    bad["slots"][0]["entity"] = "passport"
    r = await api.http.post(
        "/admin/bot/flows", data={"name": "order", "definition": json.dumps(bad), "enabled": "true"}
    )
    assert r.status_code == 422
    assert "<li>slots.0.entity: 未知的实体类型：请从列表中选择。</li>" in r.text
    r = await api.http.post("/admin/bot/flows", data={"name": "order", "definition": "{not json"})
    assert r.status_code == 422
    assert "<li>不是有效的 JSON（第 1 行，第 2 列）：Expecting property name enclosed in double quotes</li>" in r.text
    assert (await api.http.get("/api/v1/bot/flows")).json() == []
    good = json.dumps(order_flow_definition("http://127.0.0.1:8000"))
    r = await api.http.post("/admin/bot/flows", data={"name": "order", "definition": good, "enabled": "true"})
    assert r.status_code == 303, r.text
    detail = await api.http.get(r.headers["location"])
    assert detail.status_code == 200 and "{order_id}" in html.unescape(detail.text)


async def test_settings_page_saves_rules(api: World) -> None:
    form = {"answer_min_score": "0.9", "clarify_margin": "0.02", "oos_threshold": "", "keywords": "找主管\n",
            "vip_tiers": "vip, gold", "anger": "true", "oos_twice": "true"}  # fmt: skip
    r = await api.http.post("/admin/bot/settings", data=form)
    assert r.status_code == 303, r.text
    saved = (await api.http.get("/api/v1/bot/settings")).json()
    assert saved["answer_min_score"] == 0.9
    assert saved["handoff"] == {
        "keywords": ["找主管"], "anger": True, "oos_twice": True, "low_confidence": False, "vip_tiers": ["vip", "gold"],
    }  # fmt: skip
    r = await api.http.post("/admin/bot/settings", data={**form, "answer_min_score": "3"})
    assert r.status_code == 422 and "answer_min_score" in r.text
    assert (await api.http.get("/admin/bot/settings")).status_code == 200


async def test_try_console_keeps_the_state_and_shows_codes_in_the_ui_language(api: World) -> None:
    page = await api.http.get("/admin/bot/try")
    assert page.status_code == 200
    assert (
        '<input type="hidden" name="conversation_state" id="try-state" value="{&#34;active&#34;: true}">' in page.text
    )
    # an HTMX answer: the turn, and the next state swapped into the form out of band
    r = await api.http.post(
        "/admin/bot/try", data={"text": "转人工", "conversation_state": '{"active": true}'}, headers=HX
    )
    assert r.status_code == 200, r.text
    assert '<li class="turn" data-action="handoff" data-reason="explicit_request">' in r.text
    assert '<strong class="decision-action" title="handoff">转人工</strong>' in r.text
    assert '<span class="decision-reason muted" title="explicit_request">(客户要求人工)</span>' in r.text
    assert '<blockquote class="turn-reply">正在为您转接人工客服…</blockquote>' in r.text
    state = {"active": False, "handoff": {"reason": "explicit_request", "intent": None}}
    hidden = html.escape(json.dumps(state, ensure_ascii=False), quote=True).replace("&quot;", "&#34;")
    assert (
        f'<input type="hidden" name="conversation_state" id="try-state" value="{hidden}" hx-swap-oob="true">' in r.text
    )
    assert '<pre class="code" id="try-raw-state" hx-swap-oob="true">' in r.text
    # the next message, sent with that state: acknowledged while the customer waits for a person
    r = await api.http.post(
        "/admin/bot/try?lang=en", data={"text": "hello?", "conversation_state": json.dumps(state)}, headers=HX
    )
    assert '<strong class="decision-action" title="acknowledge">Acknowledge while the customer waits</strong>' in r.text
    assert (
        '<span class="decision-reason muted" title="waiting_for_agent">(waiting for an agent\'s first reply)</span>'
        in r.text
    )
    assert '<p class="turn-reply muted">No reply</p>' not in r.text
    # without HTMX: the whole page, with that turn and the state in the form
    r = await api.http.post("/admin/bot/try?lang=zh_CN", data={"text": "转人工"})
    assert r.status_code == 200
    assert r.text.count('<li class="turn"') == 1 and f'id="try-state" value="{hidden}">' in r.text
    # the API keeps its codes
    r = await api.http.post("/api/v1/bot/try", json={"text": "转人工"})
    assert (r.json()["decision"]["action"], r.json()["decision"]["reason"]) == ("handoff", "explicit_request")


async def test_try_console_refuses_a_bad_state_or_an_empty_message(api: World) -> None:
    r = await api.http.post("/admin/bot/try", data={"text": "hi", "conversation_state": "[1]"})
    assert r.status_code == 422
    assert "会话状态必须是 JSON 对象。" in r.text
    r = await api.http.post("/admin/bot/try", data={"text": " ", "conversation_state": "{}"}, headers=HX)
    assert (r.status_code, r.text) == (422, '<span class="error-fragment">请输入一条消息来试试。</span>')


async def test_agents_get_the_forbidden_page(api: World) -> None:
    agent = await api.user(Role.AGENT)
    r = await agent.client.get("/admin/bot/intents")
    assert r.status_code == 403


async def test_intent_edit_page_and_rejected_form(api: World) -> None:
    r = await api.http.post("/admin/bot/intents", data={"name": "human", "examples": "转人工\nagent please"})
    assert r.status_code == 303, r.text
    intent = (await api.http.get("/api/v1/bot/intents")).json()[0]
    r = await api.http.post(
        f"/admin/bot/intents/{intent['id']}",
        data={
            "name": "human",
            "examples": "转人工\n人工客服\nagent please",
            "handoff": "true",
            "reply_en": "One moment",
        },
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/admin/bot/intents/{intent['id']}")
    saved = (await api.http.get(f"/api/v1/bot/intents/{intent['id']}")).json()
    assert (saved["examples"], saved["handoff"], saved["reply"], saved["flow_id"]) == (
        ["转人工", "人工客服", "agent please"],
        True,
        {"en": "One moment"},
        None,
    )

    # a taken name: 409 with the reason, the form as typed (the rolled-back session still renders the page)
    r = await api.http.post("/admin/bot/intents", data={"name": "human", "examples": "人工\nperson"})
    assert r.status_code == 409
    assert "<li><code>an intent named &#39;human&#39; already exists</code></li>" in r.text
    r = await api.http.post(f"/admin/bot/intents/{intent['id']}", data={"name": "human", "flow_id": "999999"})
    assert r.status_code == 404
    assert "<li><code>flow 999999 not found</code></li>" in r.text
    assert (await api.http.get(f"/api/v1/bot/intents/{intent['id']}")).json() == saved

    r = await api.http.post("/admin/bot/intents", data={"name": "Bad Name!", "examples": "样例一\n样例二"})
    assert r.status_code == 422
    assert "样例一\n样例二" in html.unescape(r.text)  # the typed examples are shown again
    assert [i["name"] for i in (await api.http.get("/api/v1/bot/intents")).json()] == ["human"]
