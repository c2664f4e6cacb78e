"""The 360° customer profile in the real browser, in each language: from the conversation's sidebar to the
profile, the timeline with channel badges, a merge with another contact found by search (their conversation
joins the timeline) and the split from the merge history (it leaves again)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World, uniq

pytestmark = pytest.mark.browser

TEXT = {
    "zh_CN": {"timeline": "时间线", "search": "搜索", "merge": "合并到此客户", "merged": "联系人已合并。",
              "split": "拆分", "undone": "合并已撤销。", "badge": "网站聊天"},
    "zh_TW": {"timeline": "時間軸", "search": "搜尋", "merge": "合併到此客戶", "merged": "聯絡人已合併。",
              "split": "拆分", "undone": "合併已撤銷。", "badge": "網站聊天"},
    "en": {"timeline": "Timeline", "search": "Search", "merge": "Merge into this profile",
           "merged": "The contacts were merged.", "split": "Split", "undone": "The merge was undone.",
           "badge": "Website chat"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
async def test_an_agent_merges_and_splits_from_the_profile(api: World, new_context: NewContext, lang: str) -> None:
    words = TEXT[lang]
    inbox = await api.inbox()
    first = await api.visitor(inbox, "陈静")
    conv_id = (await first.say("网页上问：怎么改收货地址"))["conversation_id"]
    other_name = uniq("陈静-旧号 ")
    other = await api.visitor(inbox, other_name)
    await other.say("旧号码的问题：发票抬头")

    page = await agent_session(await new_context(), api, api.admin, lang)
    await page.goto(f"{api.server.base_url}/app?c={conv_id}&lang={lang}")
    await page.locator("#contact-profile-link").click()
    await page.wait_for_url(re.compile(rf"/app/contacts/{first.contact_id}$"))
    await expect(page.locator("#contact-title")).to_contain_text("陈静")
    await expect(page.locator(".contact-main h2").first).to_have_text(words["timeline"])
    timeline = page.locator("#timeline")
    await expect(timeline.locator(".msg-body", has_text="怎么改收货地址")).to_have_count(1)
    await expect(timeline.locator(".badge.channel").first).to_contain_text(words["badge"])
    await expect(timeline.locator(".msg-body", has_text="发票抬头")).to_have_count(0)

    await page.locator("#merge-search input[name=q]").fill(other_name)
    await page.locator("#merge-search button[type=submit]").click()
    candidate = page.locator(f"#merge-candidates li[data-contact-id='{other.contact_id}']")
    await candidate.get_by_role("button", name=words["merge"]).click()
    await expect(page.locator("#contact-done")).to_have_text(words["merged"])
    await expect(timeline.locator(".msg-body", has_text="发票抬头")).to_have_count(1)
    await screenshot(page, f"contact-profile-merged-{lang}")

    await page.locator("#merge-history").get_by_role("button", name=words["split"]).click()
    await expect(page.locator("#contact-done")).to_have_text(words["undone"])
    await expect(timeline.locator(".msg-body", has_text="发票抬头")).to_have_count(0)
    contact = (await api.http.get(f"/api/v1/contacts/{other.contact_id}")).json()
    assert contact["id"] == other.contact_id
