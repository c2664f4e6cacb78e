"""A customer sends a photo from the widget and the agent sees it; the agent sends a PDF the customer sees
as a link; a file of the wrong type is refused with a message in the customer's language."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session, customer_opens_widget, customer_says
from tests.support.factories import World
from tests.support.files import pdf, png

pytestmark = pytest.mark.browser


async def test_customer_sends_an_image_and_the_agent_a_pdf(api: World, new_context: NewContext) -> None:
    base = api.server.base_url
    inbox = await api.inbox()
    agent = await api.user(Role.AGENT, name="客服小王")
    agent_page = await agent_session(await new_context("zh-CN"), api, agent, "zh_CN")
    customer_page, frame = await customer_opens_widget(
        await new_context("zh-CN"), f"{base}/demo?inbox={inbox['public_key']}&lang=zh_CN"
    )
    await customer_says(frame, "收到的商品坏了")
    item = agent_page.locator("#conv-list .conv-item", has_text="收到的商品坏了")
    await item.click()
    await expect(agent_page.locator("#messages .msg-incoming .msg-body")).to_have_text(["收到的商品坏了"])

    # The customer attaches a photo with the paperclip button.
    attach = frame.get_by_role("button", name="添加文件")
    await expect(attach).to_be_visible()
    photo = png(40, 30)
    async with customer_page.expect_file_chooser() as chooser:
        await attach.click()
    await (await chooser.value).set_files(files=[{"name": "damage.png", "mimeType": "image/png", "buffer": photo}])
    mine = frame.locator(".w-msg.w-me[id^=m-] .w-thumb img")
    await expect(mine).to_have_attribute("alt", "damage.png")

    # The agent sees it live as a thumbnail that opens the full image.
    thumb = agent_page.locator("#messages .msg-incoming .att-image img")
    await expect(thumb).to_have_attribute("alt", "damage.png")
    loaded = (
        "img => img.complete ? img.naturalWidth : new Promise((ok) => { img.onload = () => ok(img.naturalWidth); })"
    )
    assert await thumb.evaluate(loaded) == 40
    link = agent_page.locator("#messages .msg-incoming a.att-image")
    await expect(link).to_have_attribute("target", "_blank")
    full = await agent_page.request.get(base + (await link.get_attribute("href")))
    assert (full.status, await full.body(), full.headers["content-type"]) == (200, photo, "image/png")

    # The agent sends a PDF from the reply box; the customer sees a link with its name and size.
    await expect(agent_page.get_by_role("button", name="添加文件")).to_be_visible()
    await agent_page.locator("#reply-file").set_input_files(
        files=[{"name": "退货单.pdf", "mimeType": "application/pdf", "buffer": pdf()}]
    )
    await expect(agent_page.locator("#messages .msg-outgoing .att-file .att-name")).to_have_text(["退货单.pdf"])
    doc = frame.locator(".w-msg.w-agent[id^=m-] a.w-file")
    await expect(doc).to_have_text(f"退货单.pdf {len(pdf())} B")
    got = await customer_page.request.get(base + (await doc.get_attribute("href")))
    assert (got.status, await got.body()) == (200, pdf())

    # Another type is refused, in the customer's language, and nothing is sent.
    await frame.locator("#w-file").set_input_files(
        files=[{"name": "x.svg", "mimeType": "image/svg+xml", "buffer": b"<svg xmlns='http://www.w3.org/2000/svg'/>"}]
    )
    await expect(frame.locator(".w-error")).to_have_text(
        "不支持此类文件。请发送图片（PNG、JPEG、GIF、WebP）、PDF 或文本文件。"
    )
    conv_id = int(await agent_page.locator("#conv-pane").get_attribute("data-conversation-id"))
    stored = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert [(m["content"], [a["name"] for a in m["attachments"]]) for m in stored] == [
        ("收到的商品坏了", []),
        ("damage.png", ["damage.png"]),
        ("退货单.pdf", ["退货单.pdf"]),
    ]
    await screenshot(agent_page, "attachments-workspace")
    await screenshot(customer_page, "attachments-widget")
