"""A customer talking with the demo bot over the live server (the demo's knowledge, intents and order flow,
a real trained intent model): leaving a flow, the flow giving up, clarifying choices as quick replies, and
what a customer hears after a handoff — inside and outside the account's business hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kefu.bot.demo import seed_bot
from kefu.core import clock
from kefu.knowledge.demo import seed_knowledge
from tests.bot.test_live import events, messages
from tests.support.factories import Visitor, World

PROMPT = "请提供您的订单号（例如 KF20261125001）。"
RETRY = "没有识别到订单号，请再发一次，例如 KF20261125001。"
OFF_TOPIC = "这个问题我暂时回答不了（可以回复“转人工”联系人工客服）。"
GREETING = "您好！我是智能客服，可以帮您查订单、解答退款等问题。"
RETURNS = "登录后进入“我的订单”，找到要退的商品，点击“申请退货”"  # the start of 如何申请退货？'s answer


async def demo(api: World) -> Visitor:
    async with api.server.state.sessionmaker() as session:
        assert await seed_knowledge(session, api.account_id) == 37
        assert await seed_bot(session, api.account_id, api.server.base_url) is True
    return await api.visitor(await api.inbox(bot_enabled=True))


async def turn(api: World, visitor: Visitor, text: str) -> dict[str, Any]:
    """Say `text`; the bot's reply (or the customer's own message when the bot said nothing)."""
    conv_id = (await visitor.say(text))["conversation_id"]
    await api.server.state.hooks.drain(timeout=120)  # the bot's turn may outlast the POST on a loaded machine
    return (await messages(api, conv_id))[-1]


def said(msg: dict[str, Any]) -> tuple[str, Any, str]:
    return msg["sender_type"], msg["meta"].get("bot"), msg["content"]


async def test_a_change_of_topic_leaves_the_flow_and_unfilled_prompts_give_up(api: World) -> None:
    visitor = await demo(api)
    assert (await turn(api, visitor, "我的订单什么时候到"))["content"] == PROMPT
    answer = await turn(api, visitor, "怎么退货？")  # a knowledge answer: the flow ends, the question is answered
    assert answer["meta"]["bot"] == {"action": "answer", "reason": "knowledge"}
    assert answer["content"].startswith(RETURNS)
    conv_id = answer["conversation_id"]
    left = (await events(api, conv_id, "bot.decided"))[-1]["payload"]["scores"]["left_flow"]
    assert left["name"] == "order_status"

    assert (await turn(api, visitor, "我的订单什么时候到"))["content"] == PROMPT
    hello = await turn(api, visitor, "你好")  # another intent: handled as that
    assert said(hello) == ("bot", {"action": "reply", "reason": "intent:greeting"}, GREETING)

    assert (await turn(api, visitor, "我的订单什么时候到"))["content"] == PROMPT
    # neither: failed tries; an out-of-scope one is told so and asked the slot's own question again
    tries = [said(await turn(api, visitor, text)) for text in ("今天天气怎么样", "KF12", "讲个笑话")]
    assert tries == [
        ("bot", {"action": "flow", "reason": "flow_prompt"}, OFF_TOPIC + PROMPT),
        ("bot", {"action": "flow", "reason": "flow_prompt"}, RETRY),
        (
            "bot",
            {"action": "flow", "reason": "flow_gave_up"},
            "抱歉，还是没能识别到需要的信息，这次查询先结束了。您可以换个说法重新提问，或者回复“转人工”联系人工客服。",
        ),
    ]
    conv = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert conv["bot_active"] is True  # the bot carries on, without the flow
    steps = [e["payload"].get("flow", {}).get("step") for e in await events(api, conv_id, "bot.decided")]
    assert steps[-3:] == ["prompt", "prompt", "give_up"]
    assert [e["payload"]["reason"] for e in await events(api, conv_id, "bot.handed_off")] == []

    assert (await turn(api, visitor, "我的订单什么时候到"))["content"] == PROMPT  # the slot still fills it
    done = await turn(api, visitor, "KF20261125001")
    assert done["meta"]["bot"] == {"action": "flow", "reason": "flow_done"}
    assert done["content"].startswith("订单 KF20261125001 状态：")


async def test_clarifying_choices_travel_with_the_message_and_a_title_picks_one(api: World) -> None:
    visitor = await demo(api)
    asked = await turn(api, visitor, "退货")
    assert asked["meta"]["bot"] == {"action": "clarify", "reason": "close_answers"}
    titles = [c["title"] for c in asked["meta"]["choices"]]
    assert sorted(titles) == ["如何申请退货？", "退货的条件是什么？"]
    numbered = [f"{i}. {t}" for i, t in enumerate(titles, 1)]
    assert asked["content"] == "\n".join(["您想问的是哪一个？请回复序号：", *numbered])  # for channels without buttons
    assert set(asked["meta"]["choices"][0]) == {"kind", "id", "title"}
    widget = (await visitor.messages())["messages"][-1]
    assert widget["meta"]["choices"] == asked["meta"]["choices"]  # what the widget renders as buttons
    picked = await turn(api, visitor, "如何申请退货？")  # what the button sends
    assert picked["meta"]["bot"] == {"action": "answer", "reason": "clarified"}
    assert picked["content"].startswith(RETURNS)

    asked = await turn(api, visitor, "退貨")  # a 繁體 writer gets 繁體 titles, and picking one works
    titles = [c["title"] for c in asked["meta"]["choices"]]
    assert sorted(titles) == ["如何申請退貨？", "退貨的條件是什麼？"]
    picked = await turn(api, visitor, "退貨的條件是什麼？")
    assert picked["meta"]["bot"] == {"action": "answer", "reason": "clarified"}


SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}


async def test_after_a_handoff_the_customer_hears_when_someone_answers_and_is_acknowledged(api: World) -> None:
    visitor = await demo(api)
    r = await api.http.put("/api/v1/account/business_hours", json={"always_open": False, "week": WEEKDAYS})
    assert r.status_code == 200, r.text
    friday_night = datetime(2026, 11, 27, 20, 30, tzinfo=SHANGHAI)
    monday = "11月30日（周一） 09:00（Asia/Shanghai 时间）"
    clock.freeze(friday_night)
    try:
        handed = await turn(api, visitor, "转人工")
        conv_id = handed["conversation_id"]
        msgs = await messages(api, conv_id)
        assert said(msgs[-2]) == (
            "bot",
            {"action": "handoff", "reason": "explicit_request"},
            f"已为您转接人工客服。现在是非工作时间，客服将于{monday}回复您，您可以先留言。",
        )
        assert (handed["kind"], handed["meta"]["handoff"]["reason"]) == ("note", "explicit_request")
        ack = await turn(api, visitor, "我的包裹一直没到")
        assert said(ack) == (
            "bot",
            {"action": "acknowledge", "reason": "waiting_for_agent"},
            f"已收到。现在是非工作时间，客服将于{monday}回复您。",
        )
        clock.freeze(friday_night + timedelta(minutes=4))
        assert said(await turn(api, visitor, "还在吗")) == ("contact", None, "还在吗")  # acknowledged just now
        clock.freeze(friday_night + timedelta(minutes=9))
        assert said(await turn(api, visitor, "hello, anyone?")) == (
            "bot",
            {"action": "acknowledge", "reason": "waiting_for_agent"},
            "Got it. We are outside business hours: someone will answer on Mon 30 Nov at 09:00 (Asia/Shanghai time).",
        )
        clock.freeze(datetime(2026, 11, 30, 9, 5, tzinfo=SHANGHAI))
        r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "您好，我来看一下"})
        assert r.status_code == 201, r.text
        clock.freeze(datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI))
        assert said(await turn(api, visitor, "好的")) == ("contact", None, "好的")  # a person replied: silence
    finally:
        clock.freeze(None)
    actions = [e["payload"]["action"] for e in await events(api, conv_id, "bot.decided")]
    assert actions == ["handoff", "acknowledge", "acknowledge"]
