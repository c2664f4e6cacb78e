"""The workspace as an agent uses it: the list tabs, and the panes on a phone-sized screen."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("lang", "mine"), [("zh_CN", "我的"), ("zh_TW", "我的"), ("en", "Mine")])
async def test_the_mine_tab_shows_the_agents_own_conversations(
    api: World, new_context: NewContext, lang: str, mine: str
) -> None:
    agent = await api.user(Role.AGENT, name="客服小李")
    _, own = await api.conversation("我的订单到哪了")
    _, other = await api.conversation("没人接的")
    r = await api.http.post(f"/api/v1/conversations/{own['id']}/assignment", json={"assignee_id": agent.id})
    assert r.status_code == 200
    ctx = await new_context()
    page = await agent_session(ctx, api, agent, lang)
    failures: list[str] = []
    page.on("response", lambda resp: failures.append(f"{resp.status} {resp.url}") if resp.status >= 500 else None)

    await page.locator("#conv-list .tabs a", has_text=mine).click()
    await page.wait_for_url(f"{api.server.base_url}/app?view=mine&status=open")
    await expect(page.locator("#conv-list .tabs a.active")).to_have_text(mine)
    await expect(page.locator("#conv-list .conv-item")).to_have_count(1)
    await expect(page.locator(f"#ci-{own['id']} .preview")).to_have_text("我的订单到哪了")
    await expect(page.locator(f"#ci-{other['id']}")).to_have_count(0)
    assert failures == []


def _overlap(a: dict[str, float], b: dict[str, float]) -> float:
    """Area two bounding boxes share (0 when they only touch)."""
    w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(w, 0) * max(h, 0)


async def _boxes(page: Any) -> dict[str, dict[str, float]]:
    boxes = {}
    for name, selector in (("list", ".col-list"), ("conversation", ".conv-main"), ("customer", ".side-col")):
        box = await page.locator(selector).bounding_box()
        assert box is not None, f"{name} pane is not shown"
        boxes[name] = box
    return boxes


async def test_the_workspace_panes_do_not_overlap_on_a_phone(api: World, new_context: NewContext) -> None:
    agent = await api.user(Role.AGENT, name="客服小李")
    visitor, conv = await api.conversation("手机上看得清吗？" * 3)
    for label in ("退款", "加急", "会员"):
        r = await api.http.post(f"/api/v1/conversations/{conv['id']}/labels", json={"label": label})
        assert r.status_code == 200
    for i in range(25):
        await visitor.say(f"第 {i} 条消息，内容长一点，看看会不会把别的区域挤到一起。")
    for i in range(8):
        await api.conversation(f"另一位客户 {i}")
    ctx = await new_context(viewport={"width": 390, "height": 844})
    page = await agent_session(ctx, api, agent, "zh_CN")
    await page.goto(f"{api.server.base_url}/app?c={conv['id']}&lang=zh_CN")
    await expect(page.locator("body[data-ws=open]")).to_have_count(1)
    await expect(page.locator("#reply-text")).to_be_attached()

    boxes = await _boxes(page)
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert _overlap(boxes[a], boxes[b]) == 0, (a, boxes[a], b, boxes[b])
    await screenshot(page, "workspace-phone")
    for name, box in boxes.items():  # each pane fits the screen's width: nothing to scroll sideways
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5, (name, box)
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    # Stacked in reading order: the list, then the conversation, then the customer.
    assert boxes["list"]["y"] + boxes["list"]["height"] <= boxes["conversation"]["y"]
    assert boxes["conversation"]["y"] + boxes["conversation"]["height"] <= boxes["customer"]["y"]
    # And usable: the reply box can be reached and sends.
    await page.locator("#reply-text").fill("可以的")
    await page.locator("#reply-text").press("Enter")
    await expect(page.locator("#messages .msg-outgoing .msg-body", has_text="可以的")).to_have_count(1)
    await screenshot(page, "workspace-phone")
