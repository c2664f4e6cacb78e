"""/docs (Swagger UI) and /redoc render the OpenAPI 3.1 document in a real browser, with every file
served by kefu itself: any request leaving 127.0.0.1 fails the test."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, screenshot
from tests.support.factories import World

pytestmark = pytest.mark.browser


async def loopback_only(ctx: Any) -> list[str]:
    """Abort, and remember, every request to a host other than 127.0.0.1."""
    leaked: list[str] = []

    async def guard(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).hostname != "127.0.0.1":
            leaked.append(url)
            await route.abort()
        else:
            await route.continue_()

    await ctx.route("**/*", guard)
    return leaked


async def test_swagger_ui_lists_the_operations(api: World, new_context: NewContext) -> None:
    ctx = await new_context(locale="en-US")
    leaked = await loopback_only(ctx)
    page = await ctx.new_page()
    await page.goto(api.server.base_url + "/docs")
    await expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/conversations/{conv_id}/messages").first
    ).to_be_visible()
    await expect(page.get_by_text("List Conversations").first).to_be_visible()
    await expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
    await screenshot(page, "api-docs-swagger")
    assert leaked == []


async def test_redoc_renders_the_document(api: World, new_context: NewContext) -> None:
    ctx = await new_context(locale="en-US")
    leaked = await loopback_only(ctx)
    page = await ctx.new_page()
    await page.goto(api.server.base_url + "/redoc")
    await expect(page.get_by_role("heading", name="kefu API").first).to_be_visible()
    await expect(page.get_by_role("heading", name="List Conversations")).to_be_visible()
    await screenshot(page, "api-docs-redoc")
    assert leaked == []
