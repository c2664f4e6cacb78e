"""The intents page's training states and "what the model knows", in a real browser, in each language: an
admin adds an intent through the form, watches the quick model's training become ready (the block reloads
itself), and reads the per-intent leave-one-out table, the confusion list of two near-duplicate intents and
the suggestions; a supervisor sees the same; an agent gets 403."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from kefu.core.constants import Role
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World

pytestmark = pytest.mark.browser

INTENTS = {
    "refund": ["我要退款", "怎么退款", "申请退款", "退款多久到账", "把钱退给我"],
    "money_back": ["我要退钱", "怎么退钱", "申请退钱", "退钱多久到账", "把钱还给我"],  # a near duplicate of refund
    "shipping": ["快递到哪了", "我的包裹什么时候到", "物流信息", "查一下快递", "发货了吗"],
}
WORDS = {
    "zh_CN": {"ready": "已就绪", "quick": "快速模型", "knows": "模型掌握情况", "taken": "被认成",
              "few": "例句太少：请再添加几种问法"},
    "zh_TW": {"ready": "已就緒", "quick": "快速模型", "knows": "模型掌握情況", "taken": "被認成",
              "few": "例句太少：請再新增幾種問法"},
    "en": {"ready": "Ready", "quick": "Quick model", "knows": "What the model knows", "taken": "taken for",
           "few": "few examples: add a few more ways of asking"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
async def test_admin_and_supervisor_see_training_states_and_what_the_model_knows(
    api: World, new_context: NewContext, lang: str
) -> None:
    words = WORDS[lang]
    for name, examples in INTENTS.items():
        r = await api.http.post("/api/v1/bot/intents", json={"name": name, "examples": examples})
        assert r.status_code == 201, r.text
    faq = await api.http.post(
        "/api/v1/knowledge/faqs",
        json={
            "question": "发票怎么开？",
            "variants": ["如何开发票"],
            "answer": "在订单页申请。",
            "status": "published",
        },
    )
    assert faq.status_code == 201, faq.text
    admin = await api.user(Role.ADMIN, "管理员")
    page = await agent_session(await new_context(), api, admin, lang)
    base = api.server.base_url
    await page.goto(f"{base}/admin/bot/intents?lang={lang}")

    # a new intent through the form, linked to a FAQ entry (a wrong id is refused, naming it): its training
    # shows up and becomes ready without a reload
    form = page.locator("#new-intent")
    await form.locator("input[name=name]").fill("invoice")
    await form.locator("textarea[name=examples]").fill("开发票\n我要发票")
    await form.locator("input[name=faq_ids]").fill(f"{faq.json()['id']} 99999999")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#bot-errors")).to_contain_text("no FAQ entry with id 99999999 in this account")
    form = page.locator("#new-intent")
    await expect(form.locator("input[name=faq_ids]")).to_have_value(f"{faq.json()['id']} 99999999")
    await form.locator("input[name=faq_ids]").fill(str(faq.json()["id"]))
    await form.locator("button[type=submit]").click()
    await page.wait_for_url(f"{base}/admin/bot/intents")
    health = page.locator("#intent-health tbody tr")
    await expect(health).to_have_count(4, timeout=60_000)  # the new model's report, after its training
    newest = page.locator("#trainings tbody tr").first
    await expect(newest).to_have_attribute("data-state", "ready")
    await expect(newest).to_have_attribute("data-kind", "quick")
    await expect(newest.locator("td").first).to_have_text(words["quick"])
    await expect(newest.locator("td.state")).to_have_text(words["ready"])
    await expect(newest.locator("progress")).to_have_attribute("value", "1.0")

    # what the model knows: one line per intent, the near duplicates confused, suggestions
    await expect(page.locator("#model-report h2")).to_have_text(words["knows"])
    assert await health.evaluate_all("rows => rows.map(r => r.dataset.intent)") == [
        "invoice", "money_back", "refund", "shipping"
    ]  # fmt: skip
    await expect(page.locator("#intent-health tr[data-intent=shipping] td.accuracy")).to_contain_text("100 %")
    confused = page.locator("#confusions li[data-intent]")
    pairs = set(await confused.evaluate_all("items => items.map(i => i.dataset.intent + '>' + i.dataset.takenFor)"))
    assert pairs & {"refund>money_back", "money_back>refund"}
    assert not {p for p in pairs if "shipping" in p}
    await expect(confused.first).to_contain_text(words["taken"])
    await expect(page.locator("#suggestions li[data-intent=invoice][data-reason=few_examples]")).to_contain_text(
        words["few"]
    )
    await screenshot(page, f"bot-model-status-{lang}")
    intents = (await api.http.get("/api/v1/bot/intents")).json()
    assert next(i for i in intents if i["name"] == "invoice")["faq_ids"] == [faq.json()["id"]]

    # a supervisor manages the bot too and sees the same; an agent is refused
    supervisor = await api.user(Role.SUPERVISOR, "主管")
    sup_page = await agent_session(await new_context(), api, supervisor, lang)
    await sup_page.goto(f"{base}/admin/bot/intents?lang={lang}")
    await expect(sup_page.locator("#intent-health tbody tr")).to_have_count(4)
    await expect(sup_page.locator("#trainings tbody tr").first).to_have_attribute("data-state", "ready")
    agent = await api.user(Role.AGENT, "坐席")
    agent_page = await agent_session(await new_context(), api, agent, lang)
    response = await agent_page.goto(f"{base}/admin/bot/intents?lang={lang}")
    assert response is not None and response.status == 403
    response = await agent_page.goto(f"{base}/admin/bot/intents/status?lang={lang}")
    assert response is not None and response.status == 403
