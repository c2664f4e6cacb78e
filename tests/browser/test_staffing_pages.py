"""The staffing page and the priority page in the browser, in each language: a supervisor follows the nav to
the staffing chart, saves the priority rules, and sees the reasons next to a conversation's priority."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest

from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")

TEXTS = {
    "zh_CN": {
        "staffing": "人员配置",
        "priority": "优先级",
        "saved": "优先级规则已保存。",
        "reason": "紧急：关键词 宕机",
    },
    "zh_TW": {
        "staffing": "人員配置",
        "priority": "優先級",
        "saved": "優先級規則已儲存。",
        "reason": "緊急：關鍵詞 宕机",
    },
    "en": {
        "staffing": "Staffing",
        "priority": "Priority",
        "saved": "Priority rules saved.",
        "reason": "Urgent: keyword 宕机",
    },
}


async def _last_weeks_history(api: World) -> None:
    """Conversations opened on the working days of last week, 09:00–17:00 (more around 10:00)."""
    _, conv = await api.conversation()
    monday = clock.now().astimezone(SH).replace(hour=0, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday() + 7)
    async with api.server.state.sessionmaker() as session:
        for day in range(5):
            for hour in range(9, 18):
                for n in range(12 if hour == 10 else 4):
                    at = (monday + timedelta(days=day, hours=hour, minutes=n * 4)).astimezone(UTC)
                    session.add(
                        Conversation(
                            account_id=api.account_id,
                            inbox_id=conv["inbox_id"],
                            contact_id=conv["contact_id"],
                            created_at=at,
                            last_activity_at=at,
                        )
                    )
        await session.commit()


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
async def test_supervisor_plans_staffing_and_sets_priority_rules(
    api: World, new_context: NewContext, lang: str
) -> None:
    from playwright.async_api import expect

    words = TEXTS[lang]
    await _last_weeks_history(api)
    supervisor = await api.user(Role.SUPERVISOR, "主管")
    ctx = await new_context()
    page = await agent_session(ctx, api, supervisor, lang)
    base = api.server.base_url

    # staffing: reached from the main nav; the chart and the table render, a new target recalculates
    await page.click(f"nav.mainnav >> text={words['staffing']}")
    await page.wait_for_url(f"{base}/app/staffing")
    await expect(page.locator("#staffing-chart svg rect.bar")).to_have_count(168)
    await expect(page.locator("#staffing-table tbody tr")).to_have_count(24)
    assert await page.locator("#staffing-table td[data-agents='0']").count() < 168  # the history shows
    await page.fill("input[name=aht_s]", "-5")
    await page.click("#staffing-form button[type=submit]")
    await expect(page.locator("#form-error")).to_contain_text("handle time must be > 0 seconds")
    await page.fill("input[name=aht_s]", "240")
    await page.click("#staffing-form button[type=submit]")
    await expect(page.locator("#staffing-chart svg")).to_have_count(1)
    await screenshot(page, f"staffing-{lang}")

    # priority rules: from the settings nav; save a matrix cell and a keyword
    await page.goto(f"{base}/admin/teams?lang={lang}")
    await page.click(f"nav.admin-nav >> text={words['priority']}")
    await page.wait_for_url(f"{base}/admin/routing/priority")
    await page.select_option("#cell-urgent", "p1")
    await page.fill("#keywords", "宕机\n退款失败")
    await page.click("#priority-form button[type=submit]")
    await expect(page.locator("#priority-saved")).to_have_text(words["saved"])
    await expect(page.locator("#cell-urgent")).to_have_value("p1")
    await expect(page.locator("#keywords")).to_have_value("宕机\n退款失败")

    # the reasons next to the priority on the conversation
    _, conv = await api.conversation("你们系统宕机了")
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/priority/assess")
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == "p1"
    await page.goto(f"{base}/app/c/{conv['id']}?lang={lang}")
    await expect(page.locator("#priority-reasons")).to_have_text(words["reason"])
    await screenshot(page, f"priority-reasons-{lang}")
