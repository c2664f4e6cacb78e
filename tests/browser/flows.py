"""What a person does in the browser, step by step, shared by the browser tests."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.support.factories import PASSWORD

WIDGET_FRAME = "iframe.kefu-w-frame"


async def agent_logs_in(ctx: Any, base_url: str, email: str, lang: str) -> Any:
    page = await ctx.new_page()
    await page.goto(f"{base_url}/login?lang={lang}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form button[type=submit]")
    await page.wait_for_url(f"{base_url}/app")
    await expect(page.locator("body[data-ws=open]")).to_have_count(1)
    return page


async def agent_session(ctx: Any, world: Any, user: Any, lang: str) -> Any:
    """Log `user` in without the form (the form is tested once per language in the round trip)."""
    from tests.web.conftest import start_session

    token, _ = await start_session(world, user)
    base = world.server.base_url
    await ctx.add_cookies([{"name": "kefu_session", "value": token, "url": base}])
    page = await ctx.new_page()
    await page.goto(f"{base}/app?lang={lang}")
    await expect(page.locator("body[data-ws=open]")).to_have_count(1)
    return page


async def customer_opens_widget(ctx: Any, url: str) -> tuple[Any, Any]:
    """Open `url` (a page with the widget snippet), click the bubble; return the page and the chat frame."""
    page = await ctx.new_page()
    await page.goto(url)
    await page.locator("[data-kefu-bubble]").click()
    frame = page.frame_locator(WIDGET_FRAME)
    await expect(frame.locator("body[data-ws=open]")).to_have_count(1)
    return page, frame


async def customer_says(frame: Any, text: str) -> None:
    await frame.locator("#w-input").fill(text)
    await frame.locator("#w-input").press("Enter")
    await expect(frame.locator(".w-msg.w-me[id^=m-] .w-bubble", has_text=text)).to_have_count(1)


async def agent_replies(page: Any, text: str) -> None:
    await page.locator("#reply-text").fill(text)
    await page.locator("#reply-text").press("Enter")
    await expect(page.locator("#messages .msg-outgoing .msg-body", has_text=text)).to_have_count(1)
