"""Tickets in the real browser, in each language: from the workspace's "Create ticket" to the ticket page,
a status change and a note on the timeline; the list with search, a saved view and the repeat-contact chart;
the admin's custom fields."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World

pytestmark = pytest.mark.browser

TEXT = {
    "zh_CN": {"tickets": "工单", "pending": "标记为待处理", "note": "添加备注", "save_view": "保存为视图",
              "status_changed": "修改了状态", "fields": "工单字段", "add_field": "添加字段"},
    "zh_TW": {"tickets": "工單", "pending": "標記為待處理", "note": "新增備註", "save_view": "儲存為檢視",
              "status_changed": "修改了狀態", "fields": "工單欄位", "add_field": "新增欄位"},
    "en": {"tickets": "Tickets", "pending": "Mark Pending", "note": "Add note", "save_view": "Save as view",
           "status_changed": "changed the status", "fields": "Ticket fields", "add_field": "Add field"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
async def test_an_agent_works_a_ticket_from_a_conversation(api: World, new_context: NewContext, lang: str) -> None:
    words = TEXT[lang]
    _, conv = await api.conversation("我的退款还没到账")
    ctx = await new_context()
    page = await agent_session(ctx, api, api.admin, lang)
    await page.goto(f"{api.server.base_url}/app?c={conv['id']}&lang={lang}")
    create = page.locator("details.create-ticket")
    await create.locator("summary").click()
    await create.locator("input[name=subject]").fill("退款未到账")
    await create.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/app/tickets/\d+$"))
    await expect(page.locator("h1")).to_contain_text("#1001 退款未到账")
    await page.get_by_role("button", name=words["pending"]).click()
    await expect(page.locator("#ticket")).to_have_attribute("data-status", "pending")
    await page.fill("#note-form textarea[name=body]", "等客户提供订单号")
    await page.get_by_role("button", name=words["note"]).click()
    timeline = page.locator("#timeline .timeline")
    await expect(timeline.locator("li[data-kind=note]")).to_contain_text("等客户提供订单号")
    await expect(timeline.locator("li[data-kind=status]")).to_contain_text(words["status_changed"])
    await expect(page.locator("#linked")).to_contain_text(str(conv["id"]))
    await screenshot(page, f"ticket-detail-{lang}")

    await page.get_by_role("link", name=words["tickets"], exact=True).first.click()
    await page.wait_for_url(re.compile(r"/app/tickets$"))
    await expect(page.locator("svg.rate-chart")).to_have_count(1)
    await expect(page.locator("#tickets tbody tr[data-ticket-id]")).to_have_count(1)
    await page.fill("#ticket-filter input[name=q]", "不存在的问题")
    await page.locator("#ticket-filter button[type=submit]").click()
    await expect(page.locator("#tickets tbody tr[data-ticket-id]")).to_have_count(0)
    await page.goto(f"{api.server.base_url}/app/tickets?status=pending&lang={lang}")
    await page.fill("#save-view input[name=name]", "待处理")
    await page.get_by_role("button", name=words["save_view"]).click()
    await page.wait_for_url(re.compile(r"/app/tickets\?view=\d+$"))
    await expect(page.locator(".saved-views a[aria-current=page]")).to_have_text("待处理")
    await expect(page.locator("#tickets tbody tr[data-ticket-id]")).to_have_count(1)
    await screenshot(page, f"ticket-list-{lang}")


async def test_an_admin_adds_a_custom_field_and_fills_it(api: World, new_context: NewContext) -> None:
    ticket = (await api.http.post("/api/v1/tickets", json={"subject": "发票抬头错误"})).json()
    ctx = await new_context()
    page = await agent_session(ctx, api, api.admin, "zh_CN")
    await page.goto(f"{api.server.base_url}/admin/tickets/fields?lang=zh_CN")
    await expect(page.locator("h1")).to_have_text(TEXT["zh_CN"]["fields"])
    await page.fill("#field-form input[name=key]", "channel")
    await page.fill("#field-form input[name=label]", "渠道")
    await page.select_option("#field-form select[name=type]", "select")
    await page.fill("#field-form input[name=options]", "app，web")
    await page.get_by_role("button", name=TEXT["zh_CN"]["add_field"]).click()
    await expect(page.locator("#ticket-fields tr[data-field-key=channel]")).to_contain_text("app, web")
    await page.goto(f"{api.server.base_url}/app/tickets/{ticket['id']}?lang=zh_CN")
    await page.select_option("#ticket-form select[name=cf_channel]", "web")
    await page.locator("#ticket-form button[type=submit]").click()
    await expect(page.locator("#ticket-form select[name=cf_channel]")).to_have_value("web")
    await expect(page.locator("#timeline li[data-kind=fields]")).to_have_count(1)
