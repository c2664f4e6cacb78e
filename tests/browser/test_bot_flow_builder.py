"""The bot's admin in a real browser: the demo order flow built in the form by clicking and typing, saved
and reopened; "Test it" calling its action; and a conversation in the try-it console, which keeps the
state itself, in zh_CN and en."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from kefu.bot.demo import demo_order, order_flow_definition
from tests.bot.test_api import demo_bot
from tests.browser.conftest import NewContext, screenshot
from tests.support.factories import World

pytestmark = pytest.mark.browser


async def admin_page(world: World, ctx: Any, path: str) -> Any:
    """The admin, logged in without the form (see tests/browser/flows.py), on `path`."""
    from tests.web.conftest import start_session

    token, _ = await start_session(world, world.admin)
    base = world.server.base_url
    await ctx.add_cookies([{"name": "kefu_session", "value": token, "url": base}])
    page = await ctx.new_page()
    await page.goto(base + path)
    return page


async def fill_slot(row: Any, slot: dict[str, Any]) -> None:
    await row.locator("input[name=slot_name]").fill(slot["name"])
    await row.locator("select[name=slot_entity]").select_option(slot["entity"])
    await row.locator("input[name=slot_regex]").fill(slot.get("regex", ""))
    await row.locator("input[name=slot_prompt_zh]").fill(slot["prompt"]["zh"])
    await row.locator("input[name=slot_prompt_en]").fill(slot["prompt"]["en"])
    await row.locator("input[name=slot_retry_zh]").fill(slot["retry_prompt"]["zh"])
    await row.locator("input[name=slot_retry_en]").fill(slot["retry_prompt"]["en"])


async def test_build_the_demo_order_flow_in_the_form_save_and_reopen(api: World, new_context: NewContext) -> None:
    base = api.server.base_url
    d = order_flow_definition(base)
    page = await admin_page(api, await new_context("zh-CN"), "/admin/bot/flows?lang=zh_CN")
    await page.locator("#new-flow").click()
    await expect(page.locator("h1")).to_have_text("新建流程")

    await page.locator("input[name=name]").fill("order_status")
    await page.locator("input[name=description]").fill(d["description"])
    rows = page.locator("#slot-rows .slot-row")
    await expect(rows).to_have_count(1)
    # a second slot, moved above the first and removed again: the order and the count follow
    await page.locator("#add-slot").click()
    await rows.nth(1).locator("input[name=slot_name]").fill("phone")
    await rows.nth(1).locator("[data-row-action=up]").click()
    await expect(rows.nth(0).locator("input[name=slot_name]")).to_have_value("phone")
    await rows.nth(0).locator("[data-row-action=remove]").click()
    await expect(rows).to_have_count(1)
    await fill_slot(rows.nth(0), d["slots"][0])

    action = page.locator("#flow-action")
    await expect(action.locator("input[name=action_url]")).to_be_hidden()  # no action chosen yet
    await page.locator("#action-method").select_option("GET")
    await expect(action.locator("input[name=action_url]")).to_be_visible()
    await expect(action.locator("textarea[name=action_body]")).to_be_hidden()  # POST only
    await action.locator("input[name=action_url]").fill(d["action"]["url"])
    await action.locator("input[name=action_timeout]").fill("3")
    await page.locator("#add-header").click()
    await page.locator("#header-rows input[name=header_name]").fill("Accept")
    await page.locator("#header-rows input[name=header_value]").fill("application/json")
    await page.locator("input[name=reply_zh]").fill(d["reply"]["zh"])
    await page.locator("input[name=reply_en]").fill(d["reply"]["en"])
    await page.locator("input[name=not_found_zh]").fill(d["not_found_reply"]["zh"])
    await page.locator("input[name=not_found_en]").fill(d["not_found_reply"]["en"])
    await page.locator("input[name=max_retries]").fill("2")
    await page.locator("#flow-save").click()

    await expect(page.locator("h1")).to_have_text("流程 order_status")
    [saved] = (await api.http.get("/api/v1/bot/flows")).json()
    assert saved["definition"] == {**d, "action": {**d["action"], "headers": {"Accept": "application/json"}}}

    # reopened: the same values
    await page.goto(f"{base}/admin/bot/flows/{saved['id']}?lang=zh_CN")
    row = page.locator("#slot-rows .slot-row")
    await expect(row).to_have_count(1)
    await expect(row.locator("input[name=slot_name]")).to_have_value("order_id")
    await expect(row.locator("select[name=slot_entity]")).to_have_value("order_id")
    await expect(row.locator("input[name=slot_regex]")).to_have_value(d["slots"][0]["regex"])
    await expect(row.locator("input[name=slot_retry_en]")).to_have_value(d["slots"][0]["retry_prompt"]["en"])
    await expect(page.locator("#action-method")).to_have_value("GET")
    await expect(page.locator("input[name=action_url]")).to_have_value(d["action"]["url"])
    await expect(page.locator("#header-rows input[name=header_value]")).to_have_value("application/json")
    await expect(page.locator("input[name=reply_en]")).to_have_value(d["reply"]["en"])
    await expect(page.locator("input[name=max_retries]")).to_have_value("2")

    # the JSON tab shows the same definition; a wrong edit there is refused next to nothing but its path
    await page.locator("#view-json").click()
    await expect(page.locator("#flow-json")).to_be_visible()
    assert json.loads(await page.locator("#flow-json").input_value()) == saved["definition"]
    await page.locator("#view-form").click()
    await expect(page.locator("#slot-rows input[name=slot_name]")).to_have_value("order_id")

    # an invalid edit: the error next to the field, what was typed kept, nothing changed
    await page.locator("input[name=action_timeout]").fill("90")
    await page.locator("#flow-save").click()
    await expect(page.locator('.field-error[data-error-for="action.timeout_s"]')).to_have_text("不能大于 30。")
    await expect(page.locator("input[name=action_timeout]")).to_have_value("90")
    assert (await api.http.get(f"/api/v1/bot/flows/{saved['id']}")).json() == saved
    await screenshot(page, "bot-flow-builder-error")


async def test_test_it_shows_the_json_the_action_answered(api: World, new_context: NewContext) -> None:
    base = api.server.base_url
    r = await api.http.post("/api/v1/bot/flows", json={"name": "orders", "definition": order_flow_definition(base)})
    assert r.status_code == 201, r.text
    flow_id = r.json()["id"]
    r = await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": [urlsplit(base).netloc]})
    assert r.status_code == 200, r.text  # the demo order API is listed as an outbound host, as an admin would
    page = await admin_page(api, await new_context("en-US"), f"/admin/bot/flows/{flow_id}?lang=en")
    await page.locator("#slot-rows input[name=slot_sample]").fill("KF20261125001")
    await page.locator("#test-action").click()
    shown = page.locator("#action-test-json")
    await expect(shown).to_be_visible()
    order = demo_order("KF20261125001")
    assert order is not None
    assert json.loads(await shown.text_content() or "") == order
    await expect(page.locator("#action-test-status")).to_have_text("200")
    await expect(page.locator("#action-test-reply")).to_contain_text(
        f"Order KF20261125001: {order['status_en']}, expected {order['eta_en']}."
    )
    # an address the policy refuses: the reason in the UI language
    await page.locator("input[name=action_url]").fill("http://10.255.255.1/orders/{order_id}")
    await page.locator("#test-action").click()
    await expect(page.locator("#action-test-error span")).to_have_text(
        "The address was refused: the host is not in this account's outbound hosts (Admin → Outbound hosts), or it "
        "is a private or loopback address that is not listed with its port."
    )
    await screenshot(page, "bot-flow-test-it")


CONVERSATIONS = {
    "zh_CN": {
        "say": ["你好", "我的订单到哪了", "KF20261125001"],
        "labels": [("固定回复", "(意图 greeting)"), ("流程", "(询问下一个槽位)"), ("流程", "(流程完成)")],
        "prompt": "请提供您的订单号（例如 KF20261125001）。",
        "awaiting": "等待 order_id",
        "filled": "已填槽位： order_id=KF20261125001",
        "reset": "重置会话",
    },
    "en": {
        "say": ["hello", "Where is my order?", "It is KF20261125001"],
        "labels": [("Canned reply", "(intent greeting)"), ("Flow", "(asks for the next slot)"),
                   ("Flow", "(the flow finished)")],
        "prompt": "What is your order number (e.g. KF20261125001)?",
        "awaiting": "waiting for order_id",
        "filled": "Slots filled: order_id=KF20261125001",
        "reset": "Reset the conversation",
    },
}  # fmt: skip


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_a_three_message_conversation_in_the_try_it_console(
    api: World, new_context: NewContext, lang: str
) -> None:
    await demo_bot(api)  # the demo's intents (trained) and order flow
    case = CONVERSATIONS[lang]
    page = await admin_page(
        api, await new_context("zh-CN" if lang == "zh_CN" else "en-US"), f"/admin/bot/try?lang={lang}"
    )
    turns = page.locator("#transcript .turn")
    for i, text in enumerate(case["say"]):
        await page.locator("#try-text").fill(text)
        await page.locator("#try-send").click()
        await expect(turns).to_have_count(i + 1, timeout=30_000)  # the first message loads the models
        await expect(page.locator("#try-text")).to_have_value("")
    action = [(await turns.nth(i).locator(".decision-action").text_content()) for i in range(3)]
    reason = [(await turns.nth(i).locator(".decision-reason").text_content()) for i in range(3)]
    assert list(zip(action, reason, strict=True)) == case["labels"]
    await expect(turns.nth(1).locator(".turn-reply")).to_have_text(case["prompt"])
    await expect(turns.nth(1).locator(".flow-awaiting")).to_have_text(case["awaiting"])
    order = demo_order("KF20261125001")
    assert order is not None
    answer = (
        f"订单 KF20261125001 状态：{order['status']}，预计 {order['eta']} 送达。"
        if lang == "zh_CN"
        else f"Order KF20261125001: {order['status_en']}, expected {order['eta_en']}."
    )
    await expect(turns.nth(2).locator(".turn-reply")).to_have_text(answer)
    await expect(turns.nth(2).locator(".flow-slots")).to_have_text(case["filled"])
    # the state the page keeps: after the flow, no flow is running
    state = json.loads(await page.locator("#try-state").input_value())
    assert state == {"active": True, "misses": 0}
    await page.locator("#try-state-panel summary").click()
    assert json.loads(await page.locator("#try-raw-state").text_content() or "") == state
    await screenshot(page, f"bot-try-console-{lang}")

    await page.locator("#try-reset").click()
    await expect(turns).to_have_count(0)
    assert json.loads(await page.locator("#try-state").input_value()) == {"active": True}
    await expect(page.locator("#try-reset")).to_have_text(case["reset"])
