"""An admin creates an automation rule in the UI; a customer's message triggers it and the label shows on the
conversation live; the customer's segment, its reasons and the churn flag show in the sidebar — in each
language."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session, customer_opens_widget, customer_says
from tests.support.factories import World

pytestmark = pytest.mark.browser

UI: dict[str, dict[str, Any]] = {
    "zh_CN": {
        "locale": "zh-CN",
        "h1": "自动化规则",
        "saved": "规则已保存。",
        "event": "收到或发出一条消息",
        "add_label": "添加标签",
        "segment": "战略客户",
        "reasons": ["高价值（20000）", "使用单一渠道（web_widget）", "新客户"],
        "ran": "已执行",
    },
    "zh_TW": {
        "locale": "zh-TW",
        "h1": "自動化規則",
        "saved": "規則已儲存。",
        "event": "收到或發出一則訊息",
        "add_label": "新增標籤",
        "segment": "戰略客戶",
        "reasons": ["高價值（20000）", "使用單一管道（web_widget）", "新客戶"],
        "ran": "已執行",
    },
    "en": {
        "locale": "en-US",
        "h1": "Automation rules",
        "saved": "The rule is saved.",
        "event": "A message is created",
        "add_label": "Add label",
        "segment": "Strategic",
        "reasons": ["High value (20000)", "Uses one channel (web_widget)", "New customer"],
        "ran": "Ran",
    },
}


async def _rule_ran(api: World) -> None:
    deadline = time.monotonic() + 45
    while not (await api.http.get("/api/v1/automation/runs")).json()["items"]:
        assert time.monotonic() < deadline, "the rule did not run"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
async def test_admin_rule_labels_a_customer_message_and_the_sidebar_shows_the_segment(
    api: World, new_context: NewContext, lang: str
) -> None:
    ui = UI[lang]
    base = api.server.base_url
    inbox = await api.inbox()
    admin = await agent_session(await new_context(ui["locale"]), api, api.admin, lang)
    await admin.goto(f"{base}/admin/automation?lang={lang}")
    await expect(admin.locator("h1")).to_have_text(ui["h1"])
    await admin.click("#new-rule")
    await admin.fill("#rule-form input[name=name]", f"VIP {lang}")
    await expect(admin.locator("#rule-event option:checked")).to_have_text(ui["event"])
    await admin.select_option("select[name=c0_field]", "message.direction")
    await admin.select_option("select[name=c0_op]", "eq")
    await admin.fill("input[name=c0_value]", "incoming")
    await admin.select_option("select[name=a0_type]", "add_label")
    await expect(admin.locator("select[name=a0_type] option:checked")).to_have_text(ui["add_label"])
    await admin.fill("input[name=a0_text]", "vip-rule")
    await admin.select_option("select[name=a1_type]", "notify")
    await admin.select_option("select[name=a1_agent]", str(api.admin.id))
    await admin.fill("input[name=a1_text]", "VIP ⚑ #{{conversation.id}}")
    await admin.click("#save-rule")
    await expect(admin.locator("#rule-saved")).to_have_text(ui["saved"])
    await expect(admin.locator("#rules tbody tr")).to_have_count(1)

    _, frame = await customer_opens_widget(
        await new_context(ui["locale"]), f"{base}/demo?inbox={inbox['public_key']}&lang={lang}"
    )
    await customer_says(frame, "hello, I need help")
    convs = (await api.http.get("/api/v1/conversations", params={"status": "all", "inbox_id": inbox["id"]})).json()
    (conv,) = convs["items"]
    await _rule_ran(api)  # the workspace page then shows the label as rendered (what follows arrives live)
    await admin.goto(f"{base}/app?view=all&status=all&c={conv['id']}&lang={lang}")
    await expect(admin.locator("body[data-ws=open]")).to_have_count(1)
    await expect(admin.locator("#conv-head .labels .chip span")).to_have_text(["vip-rule"], timeout=45_000)
    await customer_says(frame, "are you there?")  # the rule runs again: its notice pops up for the admin
    await expect(admin.locator("#toast")).to_have_text(f"VIP ⚑ #{conv['id']}", timeout=45_000)

    r = await api.http.patch(f"/api/v1/contacts/{conv['contact_id']}", json={"attributes": {"revenue": 20000}})
    assert r.status_code == 200, r.text
    await expect(admin.locator("#contact-segment .badge").first).to_have_text(ui["segment"], timeout=45_000)
    await expect(admin.locator("#segment-reasons li")).to_have_text(ui["reasons"])
    await expect(admin.locator("#churn-flag")).to_have_count(0)
    await screenshot(admin, f"automation-sidebar-{lang}")

    await admin.goto(f"{base}/admin/automation/runs?lang={lang}")
    await expect(admin.locator("#runs tbody tr .outcome").first).to_have_text(ui["ran"])
    await screenshot(admin, f"automation-runs-{lang}")
