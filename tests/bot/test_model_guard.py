"""The intent model's training guard as the bot shows it: the model metrics in the REST API and the
"Shipped" column of /admin/bot/settings (kefu.nlp.guard; the guard's decisions are tested in tests/nlp)."""

from __future__ import annotations

import asyncio
import html

from kefu.bot import nlu
from tests.support.factories import World

B = "/api/v1/bot"


def test_bot_training_records_the_guard_in_the_model_metrics() -> None:
    examples = [(f"我要退款 {i}", "refund") for i in range(6)] + [(f"订单到哪了 {i}", "order_status") for i in range(6)]
    _, metrics = nlu.train_intent_model(examples)
    assert metrics["guard"] == {
        "chosen": "ensemble",
        "slice_size": 2,
        "ensemble_accuracy": None,
        "baseline_accuracy": None,
        "reason": "too few examples for a calibration slice (2 < 30): no guard",
    }


async def test_models_api_and_settings_page_show_what_shipped(api: World) -> None:
    for name, examples in (
        ("refund", ["我要退款", "refund please", "退款多久到账"]),
        ("track", ["订单到哪了", "where is my order"]),
    ):
        r = await api.http.post(B + "/intents", json={"name": name, "examples": examples})
        assert r.status_code == 201, r.text
    for _ in range(900):
        models = (await api.http.get(B + "/models")).json()
        if models and models[0]["metrics"].get("n_examples") == 5:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no trained model: {models}")
    assert models[0]["metrics"]["guard"]["chosen"] == "ensemble"
    assert models[0]["metrics"]["guard"]["reason"].startswith("too few examples")
    page = await api.http.get("/admin/bot/settings?lang=zh_CN")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "上线模型" in text and "集成模型" in text and "（未比较：样本太少）" in text
