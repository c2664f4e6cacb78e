"""A customer on /demo and an agent in /app talk to each other live, in Chinese and in English."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_logs_in, agent_replies, customer_opens_widget, customer_says
from tests.support.factories import World

pytestmark = pytest.mark.browser

UI = {
    "zh_CN": {
        "browser_locale": "zh-CN",
        "tabs": ["我的", "未分配", "全部"],
        "send": "发送",
        "widget_placeholder": "请输入消息…",
        "widget_send": "发送",
        "widget_typing": "客服正在输入…",
        "agent_typing": "张三 正在输入…",
        "customer": "张三",
        "resolved": "已解决",
        "question": "你好，我的订单 KF20261125001 还没有发货",
        "answer": "您好，已为您查询，订单今天下午发出。",
    },
    "en": {
        "browser_locale": "en-US",
        "tabs": ["Mine", "Unassigned", "All"],
        "send": "Send",
        "widget_placeholder": "Type a message…",
        "widget_send": "Send",
        "widget_typing": "Customer service is typing…",
        "agent_typing": "Visitor #{contact_id} is typing…",
        "customer": None,
        "resolved": "Resolved",
        "question": "Hi, I was charged twice for my order",
        "answer": "Sorry about that, the refund has started.",
    },
}


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_widget_and_workspace_round_trip_live(api: World, new_context: NewContext, lang: str) -> None:
    ui: dict[str, Any] = UI[lang]
    base = api.server.base_url
    inbox = await api.inbox(greeting="您好！有什么可以帮您？ Hi! How can we help?")
    agent = await api.user(Role.AGENT, name="客服小王" if lang == "zh_CN" else "Alice")

    agent_page = await agent_logs_in(await new_context(ui["browser_locale"]), base, agent.email, lang)
    await expect(agent_page.locator("#conv-list .tabs a")).to_have_text(ui["tabs"])

    customer_page, frame = await customer_opens_widget(
        await new_context(ui["browser_locale"]), f"{base}/demo?inbox={inbox['public_key']}&lang={lang}"
    )
    await expect(frame.locator("#w-input")).to_have_attribute("placeholder", ui["widget_placeholder"])
    await expect(frame.locator("#w-send")).to_have_text(ui["widget_send"])
    await expect(frame.locator("#w-greeting")).to_have_text("您好！有什么可以帮您？ Hi! How can we help?")
    if ui["customer"]:  # a named visitor, so the typing indicator shows the name
        r = await api.http.get("/api/v1/contacts?limit=1")
        assert r.status_code == 200
        contact_id = r.json()["items"][0]["id"]
        assert (
            await api.http.patch(f"/api/v1/contacts/{contact_id}", json={"name": ui["customer"]})
        ).status_code == 200

    # The customer writes; the conversation appears in the agent's list without a reload.
    await customer_says(frame, ui["question"])
    item = agent_page.locator("#conv-list .conv-item", has_text=ui["question"])
    await expect(item).to_have_count(1)
    await item.click()
    await expect(agent_page.locator("#conv-list .conv-item.selected")).to_have_count(1)
    await expect(agent_page.locator("#messages .msg-incoming .msg-body")).to_have_text([ui["question"]])
    await expect(agent_page.locator("#reply-send")).to_have_text(ui["send"])

    # Typing shows on the other side, both ways.
    await frame.locator("#w-input").press_sequentially("..")
    contact_id = await agent_page.locator("#conv-pane").get_attribute("data-contact-id")
    await expect(agent_page.locator("#typing")).to_have_text(ui["agent_typing"].format(contact_id=contact_id))
    await frame.locator("#w-input").fill("")
    await agent_page.locator("#reply-text").press_sequentially("..")
    await expect(frame.locator("#w-typing")).to_be_visible()
    await expect(frame.locator("#w-typing")).to_have_text(ui["widget_typing"])

    # The agent replies; the customer sees it live; a second customer message shows live for the agent.
    await agent_replies(agent_page, ui["answer"])
    await expect(frame.locator(".w-msg.w-agent[id^=m-] .w-bubble", has_text=ui["answer"])).to_have_count(1)
    await customer_says(frame, "OK 好的")
    await expect(agent_page.locator("#messages .msg-incoming .msg-body")).to_have_text([ui["question"], "OK 好的"])

    # A private note stays with the agents.
    await agent_page.locator("input[name=kind][value=note]").check()
    await agent_replies(agent_page, "internal: refund ticket 42")
    await expect(agent_page.locator("#messages .msg-note .msg-body")).to_have_text(["internal: refund ticket 42"])

    messages = (await api.http.get(f"/api/v1/widget/{inbox['public_key']}/messages")).status_code
    assert messages == 401  # the widget API needs the visitor's token; checked through the agent API instead
    conv_id = int(await agent_page.locator("#conv-pane").get_attribute("data-conversation-id"))
    stored = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert [(m["content"], m["kind"]) for m in stored] == [
        (ui["question"], "text"),
        (ui["answer"], "text"),
        ("OK 好的", "text"),
        ("internal: refund ticket 42", "note"),
    ]
    await expect(frame.locator(".w-msg .w-bubble", has_text="internal")).to_have_count(0)

    # Labels and resolve from the conversation header (HTMX), reflected in the API.
    await agent_page.locator(".add-label input[name=label]").fill("退款 refund")
    await agent_page.locator(".add-label input[name=label]").press("Enter")
    await expect(agent_page.locator("#conv-head .labels .chip span")).to_have_text(["退款 refund"])
    await screenshot(agent_page, f"workspace-{lang}")
    await agent_page.locator("#resolve").click()
    await expect(agent_page.locator("#conv-status")).to_have_text(ui["resolved"])
    got = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert (got["status"], got["labels"]) == ("resolved", ["退款 refund"])
    await screenshot(customer_page, f"widget-{lang}")
