"""The agent's socket drops; what happened meanwhile arrives after it reconnects, once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World

pytestmark = pytest.mark.browser


async def test_workspace_resumes_after_the_socket_drops(api: World, new_context: NewContext) -> None:
    visitor_a, conv_a = await api.conversation("A 的第一条消息")
    visitor_b, conv_b = await api.conversation("B 的第一条消息")
    agent = await api.user(Role.AGENT, name="客服小王")
    ctx = await new_context("zh-CN")
    routes: list[Any] = []

    async def through(route: Any) -> None:  # pass the socket through to kefu, keeping a handle to cut it
        route.connect_to_server()
        routes.append(route)

    await ctx.route_web_socket(re.compile(r"/ws/agent"), through)
    page = await agent_session(ctx, api, agent, "zh_CN")
    await page.goto(f"{api.server.base_url}/app?c={conv_a['id']}&lang=zh_CN")
    await expect(page.locator("body[data-ws=open]")).to_have_count(1)
    await expect(page.locator("#messages .msg-incoming .msg-body")).to_have_text(["A 的第一条消息"])
    item_b = page.locator(f"#conv-list .conv-item[data-id='{conv_b['id']}']")
    await expect(item_b).not_to_have_class(re.compile(r"\bunread\b"))
    connections = len(routes)

    await routes[-1].close(code=1006, reason="network gone")
    await expect(page.locator("#ws-status")).to_be_visible()
    # While the agent is offline: both customers write.
    await visitor_a.say("A 断线时发的消息")
    await visitor_b.say("B 断线时发的消息")

    await expect(page.locator("body[data-ws=open]")).to_have_count(1, timeout=15_000)
    assert len(routes) == connections + 1
    await expect(page.locator("#ws-status")).to_be_hidden()
    # The open conversation shows the message once; the other is marked unread from the replayed event.
    await expect(page.locator("#messages .msg-incoming .msg-body")).to_have_text(["A 的第一条消息", "A 断线时发的消息"])
    await expect(item_b).to_have_class(re.compile(r"\bunread\b"))
    # Live again: a new message arrives without a reload.
    await visitor_a.say("A 重连后的消息")
    await expect(page.locator("#messages .msg-incoming .msg-body")).to_have_text(
        ["A 的第一条消息", "A 断线时发的消息", "A 重连后的消息"]
    )
    await screenshot(page, "workspace-reconnect")
