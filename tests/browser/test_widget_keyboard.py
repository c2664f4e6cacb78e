"""The chat widget from the keyboard: Esc closes it and the focus goes back to the bubble."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext
from tests.browser.flows import WIDGET_FRAME, customer_opens_widget
from tests.support.factories import World

pytestmark = pytest.mark.browser

BUBBLE_HAS_FOCUS = "() => document.activeElement === document.querySelector('[data-kefu-bubble]')"


async def test_escape_closes_the_chat_and_the_bubble_gets_the_focus(api: World, new_context: NewContext) -> None:
    inbox = await api.inbox(greeting="您好！")
    ctx = await new_context("zh-CN")
    page, frame = await customer_opens_widget(ctx, f"{api.server.base_url}/demo?inbox={inbox['public_key']}&lang=zh_CN")
    bubble, chat = page.locator("[data-kefu-bubble]"), page.locator(WIDGET_FRAME)
    await expect(chat).to_be_visible()
    await expect(bubble).to_have_attribute("aria-expanded", "true")

    # Esc inside the frame, while typing.
    await frame.locator("#w-input").fill("写到一半")
    await frame.locator("#w-input").press("Escape")
    await expect(chat).to_be_hidden()
    await expect(bubble).to_have_attribute("aria-expanded", "false")
    await expect(bubble).to_have_attribute("aria-label", "在线客服")
    assert await page.evaluate(BUBBLE_HAS_FOCUS)

    # Enter on the focused bubble opens it again with the draft kept; Esc on the host page closes it too.
    await page.keyboard.press("Enter")
    await expect(chat).to_be_visible()
    await expect(frame.locator("#w-input")).to_be_focused()
    await expect(frame.locator("#w-input")).to_have_value("写到一半")
    await bubble.focus()
    await page.keyboard.press("Escape")
    await expect(chat).to_be_hidden()
    assert await page.evaluate(BUBBLE_HAS_FOCUS)

    # The × button closes it the same way.
    await bubble.click()
    await expect(chat).to_be_visible()
    await frame.locator("#w-close").click()
    await expect(chat).to_be_hidden()
    assert await page.evaluate(BUBBLE_HAS_FOCUS)
