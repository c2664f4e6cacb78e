"""The bot over the live server (SQLite embedded; PostgreSQL + Redis + worker): a widget customer gets a
knowledge answer on the widget socket, hands off, the bot goes silent, comes back after resolve."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kefu.core import clock
from tests.support.factories import Visitor, World, recv_json, recv_until

REFUND_ANSWER = "在订单页点击“申请退款”，款项 1–3 个工作日原路退回。"


async def faq(api: World, question: str, variants: list[str], answer: str, language: str = "zh") -> dict[str, Any]:
    body = {"question": question, "variants": variants, "answer": answer, "language": language, "status": "published"}
    r = await api.http.post("/api/v1/knowledge/faqs", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def knowledge(api: World) -> dict[str, dict[str, Any]]:
    invoice = "在订单详情页申请电子发票，1 个工作日内开具。"
    hours = "We answer 9:00–21:00 every day."
    return {
        "refund": await faq(api, "怎么申请退款？", ["我想退款", "如何退款", "退款怎么操作"], REFUND_ANSWER),
        "invoice": await faq(api, "如何开发票？", ["能开发票吗", "开具发票"], invoice),
        "hours": await faq(api, "What are your opening hours?", ["When are you open?"], hours, "en"),
    }


async def bot_inbox(api: World) -> dict[str, Any]:
    r = await api.http.post("/api/v1/teams", json={"name": "售后 After-sales"})
    assert r.status_code == 201, r.text
    return await api.inbox(bot_enabled=True, team_id=r.json()["id"])


async def messages(api: World, conv_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(f"/api/v1/conversations/{conv_id}/messages")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def events(api: World, conv_id: int, type_: str) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/events", params={"conversation_id": conv_id, "type": type_})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if isinstance(body, dict) else body  # type: ignore[no-any-return]


async def next_bot_message(ws: Any) -> dict[str, Any]:
    while True:
        frame = await recv_until(ws, "message.created")
        if frame["payload"]["direction"] == "outgoing":
            return frame["payload"]  # type: ignore[no-any-return]


async def test_knowledge_answer_then_explicit_handoff_then_silence(api: World) -> None:
    kb = await knowledge(api)
    inbox = await bot_inbox(api)
    visitor = await api.visitor(inbox, name="王女士")
    async with visitor.ws() as ws:
        assert (await recv_json(ws))["type"] == "hello"
        asked = await visitor.say("我想退款")
        answer = await next_bot_message(ws)
    conv_id = asked["conversation_id"]
    assert answer["kind"] == "bot"
    assert answer["content"] == REFUND_ANSWER
    assert answer["meta"]["entry_kind"] == "faq"
    assert answer["meta"]["entry_id"] == kb["refund"]["id"]
    assert answer["meta"]["bot"] == {"action": "answer", "reason": "knowledge"}
    decided = await events(api, conv_id, "bot.decided")
    assert [e["payload"]["action"] for e in decided] == ["answer"]
    assert decided[0]["payload"]["scores"]["hits"][0]["id"] == kb["refund"]["id"]
    assert decided[0]["payload"]["score"] >= 0.86

    async with api.agent_ws() as agent_ws:
        assert (await recv_json(agent_ws))["type"] == "hello"
        await visitor.say("转人工")
        handed = await recv_until(agent_ws, "bot.handed_off")
    assert handed["payload"]["reason"] == "explicit_request"
    assert handed["payload"]["summary"]["last_messages"] == ["我想退款", "转人工"]
    msgs = await messages(api, conv_id)
    assert [(m["kind"], m["sender_type"]) for m in msgs] == [
        ("text", "contact"), ("bot", "bot"), ("text", "contact"), ("bot", "bot"), ("note", "system"),
    ]  # fmt: skip
    assert msgs[3]["content"] == "正在为您转接人工客服…"
    assert (
        msgs[4]["content"] == "【转人工】客户要求人工\n情绪：negative\n最近消息：\n- 我想退款\n- 转人工"
    )  # the account's zh_CN
    assert msgs[4]["meta"]["handoff"]["reason"] == "explicit_request"
    conv = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert (conv["bot_active"], conv["assignee_id"], conv["team_id"]) == (False, None, inbox["team_id"])

    await visitor.say("我想退款")  # waiting for a person: acknowledged, once within a few minutes
    await visitor.say("还要多久？")
    after = await messages(api, conv_id)
    assert [(m["kind"], m["content"]) for m in after[len(msgs) :]] == [
        ("text", "我想退款"), ("bot", "已收到，客服会尽快回复。"), ("text", "还要多久？"),
    ]  # fmt: skip
    assert after[len(msgs) + 1]["meta"]["bot"] == {"action": "acknowledge", "reason": "waiting_for_agent"}
    assert [e["payload"]["action"] for e in await events(api, conv_id, "bot.decided")] == [
        "answer", "handoff", "acknowledge",
    ]  # fmt: skip
    assert (await visitor.messages())["messages"][-2]["content"] == "已收到，客服会尽快回复。"  # notes stay private

    r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "您好，我来处理"})
    assert r.status_code == 201, r.text
    clock.freeze(clock.now() + timedelta(minutes=10))  # past the acknowledgement interval: a person replied
    try:
        await visitor.say("好的，谢谢")
    finally:
        clock.freeze(None)
    tail = await messages(api, conv_id)
    assert [(m["sender_type"], m["content"]) for m in tail[-2:]] == [
        ("user", "您好，我来处理"),
        ("contact", "好的，谢谢"),
    ]
    assert len(await events(api, conv_id, "bot.decided")) == 3


async def test_resolve_brings_the_bot_back_on_the_next_turn(api: World) -> None:
    await knowledge(api)
    inbox = await bot_inbox(api)
    visitor = await api.visitor(inbox)
    conv_id = (await visitor.say("人工客服"))["conversation_id"]
    assert [m["content"] for m in await messages(api, conv_id)][1] == "正在为您转接人工客服…"
    r = await api.http.post(f"/api/v1/conversations/{conv_id}/status", json={"status": "resolved"})
    assert r.status_code == 200, r.text
    again = await visitor.say("能开发票吗")
    assert again["conversation_id"] == conv_id  # the same conversation, reopened
    last = (await messages(api, conv_id))[-1]
    assert (last["kind"], last["content"]) == ("bot", "在订单详情页申请电子发票，1 个工作日内开具。")
    conv = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert conv["bot_active"] is True


async def test_out_of_scope_twice_hands_off_in_english(api: World) -> None:
    await knowledge(api)
    inbox = await bot_inbox(api)
    visitor = await api.visitor(inbox)
    conv_id = (await visitor.say("What's the capital of Mongolia?"))["conversation_id"]
    first = (await messages(api, conv_id))[-1]
    assert (first["kind"], first["meta"]["bot"]) == ("bot", {"action": "fallback", "reason": "out_of_scope"})
    assert first["content"].startswith("Sorry, I did not understand.")
    await visitor.say("Tell me a joke about penguins")
    msgs = await messages(api, conv_id)
    assert msgs[-2]["content"] == "Connecting you to a human agent…"
    assert msgs[-1]["kind"] == "note"
    assert msgs[-1]["meta"]["handoff"]["reason"] == "out_of_scope_twice"
    assert [e["payload"]["reason"] for e in await events(api, conv_id, "bot.handed_off")] == ["out_of_scope_twice"]


async def test_anger_hands_off(api: World) -> None:
    await knowledge(api)
    inbox = await bot_inbox(api)
    visitor = await api.visitor(inbox)
    conv_id = (await visitor.say("你们太垃圾了！！！退款拖了一个月还没到，气死我了，我要投诉！"))["conversation_id"]
    handed = await events(api, conv_id, "bot.handed_off")
    assert [e["payload"]["reason"] for e in handed] == ["anger"]
    assert handed[0]["payload"]["summary"]["anger"] is True
    note = (await messages(api, conv_id))[-1]
    assert note["kind"] == "note"
    assert note["content"].startswith("【转人工】客户情绪激动\n情绪：negative [anger, urgency] — anger: ")


async def test_bot_disabled_inbox_gets_no_bot(api: World) -> None:
    await knowledge(api)
    visitor, conv = await api.conversation("我想退款")
    assert [m["kind"] for m in await messages(api, conv["id"])] == ["text"]
    assert conv["bot_active"] is False
    assert isinstance(visitor, Visitor)


async def test_customers_writing_traditional_chinese_get_traditional_replies(api: World) -> None:
    await knowledge(api)
    inbox = await bot_inbox(api)
    visitor = await api.visitor(inbox)
    conv_id = (await visitor.say("請問能開發票嗎"))["conversation_id"]
    await visitor.say("轉人工")
    bot = [m["content"] for m in await messages(api, conv_id) if m["kind"] == "bot"]
    assert bot == ["在訂單詳情頁申請電子發票，1 個工作日內開具。", "正在為您轉接人工客服…"]


async def test_a_settings_edit_applies_to_the_next_message(api: World) -> None:
    # the bot config is cached per node under a version read with each message: an edit must not wait
    await knowledge(api)
    inbox = await bot_inbox(api)
    visitor = await api.visitor(inbox)
    conv_id = (await visitor.say("我想退款"))["conversation_id"]
    assert (await messages(api, conv_id))[-1]["content"] == REFUND_ANSWER
    r = await api.http.put("/api/v1/bot/settings", json={"handoff": {"keywords": ["找经理"]}})
    assert r.status_code == 200, r.text
    await visitor.say("找经理")
    handed = await events(api, conv_id, "bot.handed_off")
    assert [e["payload"]["reason"] for e in handed] == ["explicit_request"]


async def test_embedding_starts_on_arrival_only_where_the_bot_will_answer(api: World) -> None:
    from kefu.bot.runtime import get_runtime

    runtime = get_runtime(api.server.state)
    await knowledge(api)
    inbox = await bot_inbox(api)
    visitor = await api.visitor(inbox)

    async def say(text: str) -> tuple[int, int]:
        started, used = runtime.early_started, runtime.early_used
        await visitor.say(text)
        return runtime.early_started - started, runtime.early_used - used

    assert await say("我想退款") == (0, 0)  # an inbox this node has not seen yet: no guess
    assert await say("能开发票吗") == (1, 1)  # the bot answers here: embedded on arrival, used by the bot
    assert await say("转人工") == (1, 1)
    assert await say("还在吗") == (0, 0)  # handed off: the bot only acknowledges, nothing is embedded
    conv_id = (await visitor.messages())["conversation_id"]
    bot = [m["content"] for m in await messages(api, conv_id) if m["kind"] == "bot"]
    assert bot == [
        REFUND_ANSWER,
        "在订单详情页申请电子发票，1 个工作日内开具。",
        "正在为您转接人工客服…",
        "已收到，客服会尽快回复。",
    ]
