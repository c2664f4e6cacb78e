"""The widget's socket is closed by a server that sheds load (1013 "try again later", with a retry hint) or
drops: it stays away for the hint, then reconnects after a random share of its backoff (full jitter) —
and what was said meanwhile arrives."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext
from tests.browser.flows import customer_opens_widget, customer_says
from tests.support.factories import World

pytestmark = pytest.mark.browser


async def test_widget_waits_for_the_retry_hint_then_reconnects(api: World, new_context: NewContext) -> None:
    inbox = await api.inbox()
    ctx = await new_context("zh-CN")  # no text of its own: the connection line is the widget's (other tests)
    opened: list[float] = []
    routes: list[Any] = []

    async def through(route: Any) -> None:  # pass the socket through to kefu, keeping a handle to close it
        route.connect_to_server()
        opened.append(time.monotonic())
        routes.append(route)

    await ctx.route_web_socket(re.compile(r"/ws/widget"), through)
    _page, frame = await customer_opens_widget(ctx, f"{api.server.base_url}/demo?inbox={inbox['public_key']}")
    await customer_says(frame, "在吗？")
    conv_id = (await api.http.get("/api/v1/conversations?status=all")).json()["items"][0]["id"]
    conn = frame.locator("#w-conn")
    online = await conn.text_content()

    closed_at = time.monotonic()
    await routes[-1].close(code=1013, reason="retry_after=2")
    await expect(frame.locator("body[data-ws=closed]")).to_have_count(1)
    assert await conn.text_content() != online  # the visitor sees that the chat is reconnecting
    waited_ms = int(await frame.locator("body").get_attribute("data-reconnect-ms") or "0")
    assert 2000 <= waited_ms < 2000 + 1000  # the hint, plus up to one backoff step (500 ms · 2¹) of jitter
    r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "我在，请讲"})
    assert r.status_code == 201
    await expect(frame.locator("body[data-ws=open]")).to_have_count(1, timeout=10_000)
    assert len(opened) == 2 and opened[1] - closed_at >= 2.0
    await expect(frame.locator(".w-msg.w-agent .w-bubble", has_text="我在，请讲")).to_have_count(1)
    assert await conn.text_content() == online

    # A dropped connection without a hint: back within the first backoff step, with jitter.
    await routes[-1].close(code=1006, reason="network gone")
    await expect(frame.locator("body[data-ws=closed]")).to_have_count(1)
    assert 0 <= int(await frame.locator("body").get_attribute("data-reconnect-ms") or "-1") < 1000
    await expect(frame.locator("body[data-ws=open]")).to_have_count(1, timeout=10_000)
    assert len(opened) == 3


async def test_widget_waits_for_retry_after_when_the_ticket_request_gets_503(
    api: World, new_context: NewContext
) -> None:
    inbox = await api.inbox()
    ctx = await new_context("en")
    routes: list[Any] = []
    busy = {"left": 1}

    async def through(route: Any) -> None:
        route.connect_to_server()
        routes.append(route)

    async def ticket(route: Any) -> None:  # the first ticket after the drop: the server is busy
        if busy["left"] and routes:
            busy["left"] -= 1
            await route.fulfill(status=503, headers={"Retry-After": "2"}, json={"error": {"code": "unavailable"}})
        else:
            await route.continue_()

    await ctx.route_web_socket(re.compile(r"/ws/widget"), through)
    await ctx.route(re.compile(r"/socket_ticket$"), ticket)
    _page, frame = await customer_opens_widget(ctx, f"{api.server.base_url}/demo?inbox={inbox['public_key']}")
    await routes[-1].close(code=1006, reason="network gone")
    await expect(frame.locator("body[data-ws=closed]")).to_have_count(1)
    await expect(frame.locator("body")).to_have_attribute("data-reconnect-ms", re.compile(r"^[2-9]\d{3}$"))
    await expect(frame.locator("body[data-ws=open]")).to_have_count(1, timeout=10_000)
    assert busy["left"] == 0 and len(routes) == 2
