"""An admin adds a webhook in Admin → Webhooks, sees its secret once, a customer's message is delivered to a
loopback receiver (which checks the signature itself), the delivery log shows it and a replay sends it again
— in each language."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World
from tests.webhooks.receiver import Receiver, listener_placed, serve

pytestmark = pytest.mark.browser

UI: dict[str, dict[str, Any]] = {
    "zh_CN": {
        "locale": "zh-CN",
        "nav": "Webhook",
        "created": "Webhook 已保存。",
        "delivered": "已送达",
        "replay": "重新投递",
    },
    "zh_TW": {
        "locale": "zh-TW",
        "nav": "Webhook",
        "created": "Webhook 已儲存。",
        "delivered": "已送達",
        "replay": "重新投遞",
    },
    "en": {
        "locale": "en-US",
        "nav": "Webhooks",
        "created": "The webhook is saved.",
        "delivered": "Delivered",
        "replay": "Replay",
    },
}


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
async def test_admin_adds_a_webhook_and_replays_a_delivery(api: World, new_context: NewContext, lang: str) -> None:
    ui = UI[lang]
    base = api.server.base_url
    await listener_placed(api.server.state)
    async with serve(Receiver()) as receiver:
        assert (
            await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": [receiver.host]})
        ).status_code == 200
        admin = await agent_session(await new_context(ui["locale"]), api, api.admin, lang)
        await admin.goto(f"{base}/admin/inboxes?lang={lang}")
        await admin.locator(".admin-nav a[href='/admin/webhooks']").click()
        await expect(admin.locator(".admin-nav a[aria-current=page]")).to_have_text(ui["nav"])
        await admin.fill("#webhook-url", receiver.url)
        await admin.check("#webhook-form input[value='message.created']")
        await admin.click("#create-webhook")
        await expect(admin.locator("#webhook-created")).to_contain_text(ui["created"])
        secret = (await admin.locator("#created-secret").inner_text()).strip()
        assert secret.startswith("whsec_")
        receiver.secret = secret
        await screenshot(admin, f"webhooks-{lang}")

        inbox = await api.inbox(bot_enabled=False)
        visitor = await api.visitor(inbox)
        await visitor.say("你好，发票怎么开？")
        deadline = time.monotonic() + 20
        while not receiver.accepted():
            assert time.monotonic() < deadline, "the delivery did not arrive"
            await asyncio.sleep(0.1)
        assert receiver.requests[0].signature_ok

        await admin.locator("#webhooks .webhook-link").click()
        row = admin.locator("#deliveries tbody tr[data-delivery-id]")
        await expect(row).to_have_count(1)
        await expect(row.locator(".delivery-status")).to_have_text(ui["delivered"])
        await expect(row.locator(".delivery-answer")).to_contain_text("HTTP 200")
        await expect(row.locator(".replay")).to_have_text(ui["replay"])
        await row.locator(".replay").click()
        await expect(admin.locator("#webhook-replayed")).to_have_count(1)
        await expect(admin.locator("#deliveries .delivery-attempts")).to_have_text("2")
        assert len(receiver.accepted()) == 2
        assert receiver.requests[1].headers["x-kefu-delivery"] == receiver.requests[0].headers["x-kefu-delivery"]
        await expect(admin.locator("#webhook-form input[name=secret]")).to_have_value("")
        await screenshot(admin, f"webhook-log-{lang}")
