"""After a page reload the customer's conversation continues: same visitor, history shown, same conversation."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext
from tests.browser.flows import customer_opens_widget, customer_says
from tests.support.factories import World

pytestmark = pytest.mark.browser


async def test_reload_keeps_history_and_continues_the_conversation(api: World, new_context: NewContext) -> None:
    inbox = await api.inbox(greeting="Hi! How can we help?")
    url = f"{api.server.base_url}/demo?inbox={inbox['public_key']}&lang=en"
    ctx = await new_context("en-US")
    page, frame = await customer_opens_widget(ctx, url)
    await customer_says(frame, "Where is my parcel?")
    conv_id = int((await frame.locator(".w-msg.w-me").first.get_attribute("id") or "m-0")[2:])
    msg = (await api.http.get("/api/v1/conversations?status=all")).json()["items"]
    assert len(msg) == 1
    conv_id = msg[0]["id"]
    r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "It ships today."})
    assert r.status_code == 201
    await expect(frame.locator(".w-msg.w-agent .w-bubble", has_text="It ships today.")).to_have_count(1)
    token_before = await page.evaluate("() => document.querySelector('iframe.kefu-w-frame').src")

    await page.reload()
    await page.locator("[data-kefu-bubble]").click()
    frame = page.frame_locator("iframe.kefu-w-frame")
    await expect(frame.locator("body[data-ws=open]")).to_have_count(1)
    await expect(frame.locator(".w-msg[id^=m-] .w-bubble")).to_have_text(["Where is my parcel?", "It ships today."])
    await expect(frame.locator("#w-greeting")).to_have_text("Hi! How can we help?")
    await customer_says(frame, "Thanks!")

    convs = (await api.http.get("/api/v1/conversations?status=all")).json()["items"]
    assert [c["id"] for c in convs] == [conv_id]
    stored = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert [m["content"] for m in stored] == ["Where is my parcel?", "It ships today.", "Thanks!"]
    assert await page.evaluate("() => document.querySelector('iframe.kefu-w-frame').src") == token_before

    # Replies after the reload still arrive live, each once.
    r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "You're welcome."})
    assert r.status_code == 201
    await expect(frame.locator(".w-msg[id^=m-] .w-bubble")).to_have_text(
        ["Where is my parcel?", "It ships today.", "Thanks!", "You're welcome."]
    )
