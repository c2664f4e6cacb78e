"""SLA countdown badges in a real browser: the badge of a waiting conversation in the agent's list counts
down each second, and the warning and overdue states read in the page's language."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext
from tests.browser.flows import agent_session
from tests.support.factories import World

pytestmark = pytest.mark.browser

OVERDUE = {"zh_CN": "已超时 3分", "zh_TW": "已逾時 3分", "en": "overdue 3m"}
HOURS = {"zh_CN": "2小时05分", "zh_TW": "2小時05分", "en": "2h 05m"}


async def _timed(api: World, conv_id: int, priority: str) -> dict[str, Any]:
    """The conversation once the SLA listener has moved its clocks to `priority`'s targets."""
    for _ in range(100):
        sla: dict[str, Any] = (await api.http.get(f"/api/v1/conversations/{conv_id}/sla")).json()
        if sla["clocks"] and sla["clocks"][0]["priority"] == priority and sla["sla_due_at"]:
            return sla
        await asyncio.sleep(0.1)
    raise AssertionError(f"the conversation was never timed at {priority}")


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
async def test_the_badge_counts_down_in_the_workspace_list(api: World, new_context: NewContext, lang: str) -> None:
    agent = await api.user(Role.AGENT, name="客服小王")
    _, conv = await api.conversation("系统崩了，无法付款！")
    r = await api.http.patch(f"/api/v1/conversations/{conv['id']}", json={"priority": "p1"})
    assert r.status_code == 200, r.text
    await _timed(api, conv["id"], "p1")  # P1: first response in 30 min → the badge shows mm:ss
    ctx = await new_context()
    page = await agent_session(ctx, api, agent, lang)
    badge = page.locator(f"#sla-{conv['id']}")
    await expect(badge).to_have_text(re.compile(r"^[0-2]?\d:[0-5]\d$"))
    await expect(badge).to_have_class(re.compile(r"\bsla-ok\b"))
    first = await badge.text_content()
    await page.wait_for_timeout(1300)
    second = await badge.text_content()
    assert first != second, (first, second)
    m1, s1 = map(int, (first or "").split(":"))
    m2, s2 = map(int, (second or "").split(":"))
    assert 1 <= (m1 * 60 + s1) - (m2 * 60 + s2) <= 3

    # The same badge past its warning instant, over an hour away, and overdue — in the page's language.
    async def shifted(due_s: int, warn_s: int) -> None:
        await page.evaluate(
            """([id, due, warn]) => {
                const el = document.getElementById(id);
                el.dataset.slaDue = new Date(Date.now() + due * 1000).toISOString();
                el.dataset.slaWarn = new Date(Date.now() + warn * 1000).toISOString();
            }""",
            [f"sla-{conv['id']}", due_s, warn_s],
        )

    await shifted(5 * 60, -60)
    await expect(badge).to_have_class(re.compile(r"\bsla-warning\b"))
    await shifted(2 * 3600 + 5 * 60 + 30, 3600)
    await expect(badge).to_have_text(HOURS[lang])
    await expect(badge).to_have_class(re.compile(r"\bsla-ok\b"))
    await shifted(-(3 * 60 + 5), -600)
    await expect(badge).to_have_text(OVERDUE[lang])
    await expect(badge).to_have_class(re.compile(r"\bsla-breached\b"))
    await expect(page.locator("#conv-list .sla-badge.sla-breached")).to_have_count(1)
