"""A customer gets a knowledge-base answer from the bot, asks for a human, and an agent takes over —
in a real browser, both sides live."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_replies, agent_session, customer_opens_widget, customer_says
from tests.support.factories import World

pytestmark = pytest.mark.browser

ANSWER = "在“我的订单”中点击“申请退货”，签收后 7 天内可无理由退货。"


async def test_bot_answers_from_knowledge_then_hands_off_to_an_agent(api: World, new_context: NewContext) -> None:
    base = api.server.base_url
    inbox = await api.inbox(bot_enabled=True)
    faq = await api.http.post(
        "/api/v1/knowledge/faqs",
        json={
            "question": "怎么申请退货？",
            "variants": ["如何退货", "我想退货怎么办"],
            "answer": ANSWER,
            "language": "zh",
            "status": "published",
        },
    )
    assert faq.status_code == 201, faq.text
    agent = await api.user(Role.AGENT, name="客服小王")
    agent_page = await agent_session(await new_context("zh-CN"), api, agent, "zh_CN")

    customer_page, frame = await customer_opens_widget(
        await new_context("zh-CN"), f"{base}/demo?inbox={inbox['public_key']}&lang=zh_CN"
    )
    await customer_says(frame, "怎么申请退货？")
    bot_msgs = frame.locator(".w-msg.w-kind-bot .w-bubble")
    await expect(bot_msgs).to_have_text([ANSWER], timeout=30_000)  # the first search builds the index

    # The agent sees the conversation with the bot's answer marked as the bot's.
    item = agent_page.locator("#conv-list .conv-item")  # a new account: this is its only conversation
    await expect(item).to_have_count(1)
    await item.click()
    await expect(agent_page.locator("#messages .msg-bot .msg-body")).to_have_text([ANSWER])

    await customer_says(frame, "转人工")
    await expect(bot_msgs).to_have_text([ANSWER, "正在为您转接人工客服…"])
    note = agent_page.locator("#messages .msg-note .msg-body")
    await expect(note).to_have_count(1)
    await expect(note).to_contain_text("转人工")

    await agent_replies(agent_page, "您好，我是人工客服小王，马上为您处理退货。")
    await expect(frame.locator(".w-msg.w-agent.w-kind-text .w-bubble")).to_have_text(
        ["您好，我是人工客服小王，马上为您处理退货。"]
    )

    # After the handoff the bot stays silent: the next message reaches the agent, and no bot reply follows.
    await customer_says(frame, "好的，谢谢")
    await expect(agent_page.locator("#messages .msg-incoming .msg-body", has_text="好的，谢谢")).to_have_count(1)
    await agent_page.wait_for_timeout(1500)
    await expect(bot_msgs).to_have_count(2)
    await screenshot(customer_page, "bot-handoff-widget")
    await screenshot(agent_page, "bot-handoff-workspace")
