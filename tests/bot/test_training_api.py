"""/api/v1/bot/trainings and /api/v1/bot/report over the live server: the quick model's training and the
model's report on its own examples, 404 before there is a model, 403 for agents."""

from __future__ import annotations

import asyncio
from typing import Any

from kefu.core.constants import Role
from tests.support.factories import World

B = "/api/v1/bot"
INTENTS = {
    "refund": ["我要退款", "怎么退款", "申请退款", "退款多久到账"],
    "shipping": ["快递到哪了", "我的包裹什么时候到", "物流信息", "查一下快递"],
    "invoice": ["开发票"],
}


async def _report(api: World) -> dict[str, Any]:
    for _ in range(600):
        r = await api.http.get(B + "/report")
        if r.status_code == 200 and len(r.json()["intents"]) == len(INTENTS):
            return r.json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no report: {r.status_code} {r.text}")


async def test_trainings_and_report(api: World) -> None:
    r = await api.http.get(B + "/report")
    assert (r.status_code, r.json()["error"]["message"]) == (404, "intent model report not found")
    assert (await api.http.get(B + "/trainings")).json() == []
    for name, examples in INTENTS.items():
        r = await api.http.post(B + "/intents", json={"name": name, "examples": examples})
        assert r.status_code == 201, r.text
    report = await _report(api)
    models = (await api.http.get(B + "/models")).json()
    active = next(m for m in models if m["active"])
    assert (report["model_id"], report["version"], report["method"]) == (
        active["id"],
        active["version"],
        "leave-one-out",
    )
    assert [(i["label"], i["examples"], i["checked"]) for i in report["intents"]] == [
        ("invoice", 1, 0), ("refund", 4, 4), ("shipping", 4, 4)
    ]  # fmt: skip
    assert {"label": "invoice", "reason": "unchecked", "other": None} in report["suggestions"]
    assert active["metrics"]["oos_rule"] == "few-shot"

    for _ in range(600):  # the three edits' trainings settle: the last one ready, older ones cancelled
        trainings = (await api.http.get(B + "/trainings")).json()
        if all(t["state"] in ("ready", "cancelled") for t in trainings):
            break
        await asyncio.sleep(0.1)
    # (queued jobs that start after the last edit train the same examples: the first to finish is stored)
    ready = [t for t in trainings if t["state"] == "ready" and t["model_id"] == active["id"]]
    assert len(ready) == 1, (trainings, models)
    assert (ready[0]["kind"], ready[0]["progress"]) == ("quick", 1.0)
    assert ready[0]["detail"]["seconds"] > 0
    assert [t["id"] for t in trainings] == sorted((t["id"] for t in trainings), reverse=True)

    agent = await api.user(Role.AGENT)
    for path in ("/trainings", "/report"):
        assert (await agent.client.get(B + path)).status_code == 403


async def test_linked_faq_entries_train_an_intent_with_few_examples(api: World) -> None:
    r = await api.http.post(
        "/api/v1/knowledge/faqs",
        json={
            "question": "发票怎么开？",
            "variants": ["如何开发票", "能开专票吗"],
            "answer": "在订单页申请。",
            "status": "published",
        },
    )
    assert r.status_code == 201, r.text
    faq = r.json()
    draft = (await api.http.post("/api/v1/knowledge/faqs", json={"question": "草稿问题？", "answer": "…"})).json()
    bad = await api.http.post(
        B + "/intents", json={"name": "invoice", "examples": ["开发票"], "faq_ids": [faq["id"], 99999999]}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == "no FAQ entry with id 99999999 in this account"
    assert bad.json()["error"]["details"] == [{"field": "faq_ids", "message": "unknown FAQ entry 99999999"}]
    body = {"name": "invoice", "examples": ["开发票"], "faq_ids": [faq["id"], draft["id"]]}
    created = (await api.http.post(B + "/intents", json=body)).json()
    assert created["faq_ids"] == [faq["id"], draft["id"]]
    await api.http.post(B + "/intents", json={"name": "refund", "examples": INTENTS["refund"], "description": "退钱"})
    for _ in range(600):
        models = [m for m in (await api.http.get(B + "/models")).json() if m["active"]]
        if models and models[0]["metrics"]["labels"] == ["invoice", "refund"]:
            break
        await asyncio.sleep(0.1)
    # invoice: 1 example + the published entry's question and 2 variants (not the draft's); refund has 4
    # examples, so its description is added too ("refund: 退钱")
    assert models[0]["metrics"]["n_examples"] == 1 + 3 + 4 + 1
    r = await api.http.patch(f"{B}/intents/{created['id']}", json={"faq_ids": []})
    assert r.json()["faq_ids"] == []
    for _ in range(600):
        models = [m for m in (await api.http.get(B + "/models")).json() if m["active"]]
        if models and models[0]["metrics"]["n_examples"] == 1 + 4 + 1:
            break
        await asyncio.sleep(0.1)
    assert models[0]["metrics"]["n_examples"] == 6  # unlinking retrained without the entry's questions
