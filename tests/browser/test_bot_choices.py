"""A clarifying question in the widget: its choices are buttons; clicking one sends it and the bot answers
that entry; the buttons are disabled after use. The demo's knowledge and bot, a real browser."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from kefu.bot.demo import seed_bot
from kefu.knowledge.demo import seed_knowledge
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import customer_opens_widget, customer_says
from tests.support.factories import World

pytestmark = pytest.mark.browser

RETURNS = "登录后进入“我的订单”，找到要退的商品，点击“申请退货”"


async def test_clicking_a_quick_reply_choice_gets_its_answer(api: World, new_context: NewContext) -> None:
    async with api.server.state.sessionmaker() as session:
        await seed_knowledge(session, api.account_id)
        await seed_bot(session, api.account_id, api.server.base_url)
    inbox = await api.inbox(bot_enabled=True)
    page, frame = await customer_opens_widget(
        await new_context("zh-CN"), f"{api.server.base_url}/demo?inbox={inbox['public_key']}&lang=zh_CN"
    )
    await customer_says(frame, "退货")
    last = frame.locator(".w-msg.w-kind-bot").last
    await expect(last.locator(".w-choices button.w-choice")).to_have_count(2, timeout=30_000)  # builds the index
    asked = frame.locator(f"#{await last.get_attribute('id')}")
    buttons = asked.locator(".w-choices button.w-choice")
    titles = sorted(await buttons.all_text_contents())
    assert titles == ["如何申请退货？", "退货的条件是什么？"]
    await expect(asked.locator(".w-bubble")).to_have_text("您想问的是哪一个？请回复序号：")  # the list became buttons
    await expect(buttons.first).to_be_enabled()

    await asked.locator("button.w-choice", has_text="如何申请退货？").click()
    await expect(frame.locator(".w-msg.w-me[id^=m-] .w-bubble", has_text="如何申请退货？")).to_have_count(1)
    answer = frame.locator(".w-msg.w-kind-bot .w-bubble").last
    await expect(answer).to_contain_text(RETURNS)
    await expect(buttons.nth(0)).to_be_disabled()
    await expect(buttons.nth(1)).to_be_disabled()
    await expect(asked.locator("button.w-chosen")).to_have_text("如何申请退货？")
    await screenshot(page, "bot-choices-widget")

    await page.reload()  # from history: the old question's buttons stay disabled
    await page.locator("[data-kefu-bubble]").click()
    await expect(frame.locator(".w-msg.w-kind-bot .w-choices button")).to_have_count(2)
    for button in await frame.locator(".w-msg.w-kind-bot .w-choices button").all():
        await expect(button).to_be_disabled()
    await customer_says(frame, "会员")  # a new question: fresh buttons, the old ones stay disabled
    fresh = frame.locator(".w-choices button:not([disabled])")
    await expect(fresh).to_have_count(2)
    assert sorted(await fresh.all_text_contents()) == ["会员积分怎么用？", "怎么成为会员？"]
    await expect(frame.locator(".w-choices button[disabled]")).to_have_count(2)
