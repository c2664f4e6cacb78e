"""The workspace as an agent uses it: the list tabs."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext
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
