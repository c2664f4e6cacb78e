"""Routing in a real browser: an agent goes online in the workspace and a waiting conversation appears in
their list without a reload; a supervisor watches the live queue (SLA badge) and reassigns by button and by
dragging a conversation onto an agent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import expect

from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.routing.live import listeners_ready
from tests.support.factories import World

pytestmark = pytest.mark.browser


async def _waiting(api: World, text: str) -> int:
    """A customer writes in an inbox without a bot: the routing listener queues the conversation."""
    _, conv = await api.conversation(text)
    for _ in range(300):
        got = (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()
        if got["waiting_since"] is not None:
            return int(conv["id"])
        await clock_sleep()
    raise AssertionError("the conversation was never queued")


async def clock_sleep() -> None:
    import asyncio

    await asyncio.sleep(0.1)


async def test_an_agent_goes_online_and_receives_an_assignment_live(api: World, new_context: NewContext) -> None:
    await listeners_ready(api)
    agent = await api.user(Role.AGENT, name="Ann")
    page = await agent_session(await new_context("en-US"), api, agent, "en")
    await page.goto(f"{api.server.base_url}/app?view=mine&lang=en")
    await expect(page.locator("body[data-ws=open]")).to_have_count(1)
    await expect(page.locator("#presence-select")).to_have_value("away")
    conv_id = await _waiting(api, "I need help with my invoice")
    await expect(page.locator("#conv-list .conv-item")).to_have_count(0)

    await page.locator("#presence-select").select_option("online")
    await expect(page.locator("#presence.presence-online")).to_have_count(1)
    # assigned by the routing engine and pushed over the agent socket: the list refreshes itself
    await expect(page.locator(f"#conv-list #ci-{conv_id}")).to_have_count(1, timeout=20_000)
    got = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert (got["assignee_id"], got["waiting_since"]) == (agent.id, None)
    await screenshot(page, "routing-agent-online")


async def test_a_supervisor_watches_the_queue_and_reassigns(api: World, new_context: NewContext) -> None:
    await listeners_ready(api)
    supervisor = await api.user(Role.SUPERVISOR, name="Sue")
    ann = await api.user(Role.AGENT, name="Ann")
    bob = await api.user(Role.AGENT, name="Bob")
    first = await _waiting(api, "first customer")
    second = await _waiting(api, "second customer")
    async with api.server.state.sessionmaker() as session:
        row = await session.get(Conversation, first)
        assert row is not None
        row.sla_due_at = clock.now() + timedelta(minutes=30)
        await session.commit()

    page = await (await new_context("en-US")).new_page()
    from tests.web.conftest import start_session

    token, _ = await start_session(api, supervisor)
    await page.context.add_cookies([{"name": "kefu_session", "value": token, "url": api.server.base_url}])
    await page.goto(f"{api.server.base_url}/app?lang=en")
    await page.locator('.mainnav a[href="/app/queue"]').click()
    await page.wait_for_url(f"{api.server.base_url}/app/queue")
    await expect(page.locator(".queue-item")).to_have_count(2)
    await expect(page.locator(f"#q-{first} span.sla-badge[data-sla-due]")).to_have_count(1)
    badge = page.locator(f"#q-{first} span.sla-badge")  # 30 minutes away: the badge counts down mm:ss
    await expect(badge).to_have_text(re.compile(r"^[0-2]?\d:[0-5]\d$"))
    before = await badge.text_content()
    await page.wait_for_timeout(1300)
    after = await badge.text_content()
    (m1, s1), (m2, s2) = (map(int, (text or "").split(":")) for text in (before, after))
    assert 1 <= (m1 * 60 + s1) - (m2 * 60 + s2) <= 3, (before, after)
    await screenshot(page, "routing-queue")

    # by button
    await page.locator(f"#q-{first} select[name=user_id]").select_option(str(ann.id))
    await page.locator(f"#q-{first} button[type=submit]").click()
    await expect(page.locator(f"#q-{first}")).to_have_count(0)
    await expect(page.locator(f'.agent-row[data-agent-id="{ann.id}"] .load')).to_have_text("1/5")
    # by dragging onto an agent's row
    await page.locator(f"#q-{second}").drag_to(page.locator(f'.agent-row[data-agent-id="{bob.id}"]'))
    await expect(page.locator(".queue-item")).to_have_count(0)
    await expect(page.locator(f'.agent-row[data-agent-id="{bob.id}"] .load')).to_have_text("1/5")
    assignees = [(await api.http.get(f"/api/v1/conversations/{c}")).json()["assignee_id"] for c in (first, second)]
    assert assignees == [ann.id, bob.id]
