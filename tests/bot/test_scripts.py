"""简体 and 繁體 get the same decision: every question variant of the demo FAQ and every example of the demo
intents, as written and converted to 繁體 with OpenCC (s2t), through the bot's real NLP (embedder, trained
intent model, sentiment), the account's knowledge index and the policy — nothing mocked."""

from __future__ import annotations

import json
from typing import Any

from opencc import OpenCC

from kefu.bot.demo import INTENTS, seed_bot
from kefu.bot.policy import Context, Decision
from kefu.bot.runtime import get_runtime
from kefu.bot.service import load_account_bot
from kefu.knowledge.demo import FAQ_FILE, seed_knowledge
from tests.support.factories import World

_s2t = OpenCC("s2t")


def demo_texts() -> list[str]:
    texts: list[str] = []
    for row in json.loads(FAQ_FILE.read_text(encoding="utf-8")):
        if row.get("language", "zh").startswith("zh"):
            texts += [row["question"], *row.get("variants", [])]
    texts += [e for intent in INTENTS for e in intent["examples"] if _s2t.convert(e) != e]
    return texts


def kind(d: Decision) -> tuple[Any, ...]:
    """What the decision does, apart from the wording (a 繁體 writer's reply is in 繁體)."""
    entry = d.entry["id"] if d.entry else None
    return (d.action, d.reason, entry, d.flow_id, d.handoff_reason, tuple(c["id"] for c in d.choices))


async def test_simplified_and_traditional_get_the_same_decision(api: World) -> None:
    state = api.server.state
    async with state.sessionmaker() as session:
        assert await seed_knowledge(session, api.account_id) == 37
        assert await seed_bot(session, api.account_id, api.server.base_url) is True
    async with state.sessionmaker() as session:
        bot = await load_account_bot(session, api.account_id)
        await session.commit()
    runtime = get_runtime(state)

    async def decide(text: str) -> tuple[Any, ...]:
        thought = await runtime.think(api.account_id, text, {"active": True}, Context(recent_messages=[text]), bot)
        return kind(thought.decision)

    texts = demo_texts()
    assert len(texts) == 146
    differ = []
    for text in texts:
        traditional = _s2t.convert(text)
        simplified, converted = await decide(text), await decide(traditional)
        if simplified != converted:
            differ.append((text, traditional, simplified, converted))
    assert differ == []
    faqs = (await api.http.get("/api/v1/knowledge/faqs", params={"limit": 100})).json()["items"]
    returns = next(f["id"] for f in faqs if f["question"] == "如何申请退货？")
    assert await decide("怎么退货？") == await decide("怎麼退貨？") == ("answer", "knowledge", returns, None, None, ())
