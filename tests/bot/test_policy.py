"""The dialogue policy on fixed inputs: exact decisions, zh and en (no database, no models)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kefu.accounts.hours import DAYS, BusinessHours, OpenRange
from kefu.bot.policy import (
    BotConfig,
    Context,
    HandoffRules,
    IntentRule,
    Signals,
    asks_for_human,
    decide,
    summary_note,
)
from kefu.bot.texts import Reply, TextKey
from kefu.nlp.entities import Entity
from kefu.nlp.normalise import normalise


@dataclass(frozen=True)
class Hit:
    entry_kind: str
    entry_id: int
    dense_score: float
    title: str = ""
    answer: str = ""
    score: float = 0.0328  # fused RRF score: ranks only
    bm25_score: float = 3.5


def sig(text: str, language: str = "zh", **kw: object) -> Signals:
    return Signals(text=text, language=language, normalised=normalise(text), **kw)  # type: ignore[arg-type]


ACTIVE = {"active": True}
CFG = BotConfig()  # answer_min_score 0.86, clarify_margin 0.015 (cosine)
REFUND = Hit("faq", 11, 0.92, "怎么申请退款？", "在订单页点击“申请退款”，1–3 个工作日原路退回。")
INVOICE = Hit("faq", 12, 0.80, "如何开发票？", "在订单详情页申请电子发票。")
INTENTS = {
    "order_status": IntentRule("order_status", flow_id=7),
    "human": IntentRule("human", handoff=True),
    "greeting": IntentRule("greeting", reply={"zh": "您好！", "en": "Hello!"}),
    "refund": IntentRule("refund"),
}


def test_confident_knowledge_hit_is_answered_with_its_entry() -> None:
    d = decide(sig("怎么退款"), ACTIVE, CFG, INTENTS, [REFUND, INVOICE])
    assert d.action == "answer"
    assert d.reason == "knowledge"
    assert d.entry == {"kind": "faq", "id": 11, "title": "怎么申请退款？"}
    assert d.text == REFUND.answer
    assert d.score == 0.92
    assert d.state == {"active": True, "misses": 0}
    assert d.scores["hits"] == [
        {"kind": "faq", "id": 11, "confidence": 0.92, "score": 0.0328, "bm25": 3.5},
        {"kind": "faq", "id": 12, "confidence": 0.8, "score": 0.0328, "bm25": 3.5},
    ]


def test_close_answers_ask_a_clarifying_question_then_the_number_picks_one() -> None:
    a = Hit("faq", 1, 0.91, "退款多久到账？", "1–3 个工作日。")
    b = Hit("faq", 2, 0.90, "怎么申请退款？", "在订单页申请。")
    c = Hit("article", 3, 0.85, "退货政策", "七天无理由。")
    d = decide(sig("退款"), ACTIVE, CFG, INTENTS, [a, b, c])
    assert d.action == "clarify"
    assert [ch["id"] for ch in d.choices] == [1, 2]
    assert (d.text, d.reply) == ("", Reply(TextKey.CLARIFY, after="\n1. 退款多久到账？\n2. 怎么申请退款？"))
    picked = decide(sig("2"), d.state, CFG, INTENTS, [])
    assert picked.action == "answer"
    assert picked.reason == "clarified"
    assert picked.entry == {"kind": "faq", "id": 2, "title": "怎么申请退款？"}
    assert picked.text == "在订单页申请。"
    assert "clarify" not in picked.state


def test_a_choices_title_picks_it_as_a_quick_reply_button_sends_it_in_either_script() -> None:
    a = Hit("faq", 1, 0.91, "退款多久到账？", "1–3 个工作日。")
    b = Hit("faq", 2, 0.90, "怎么申请退款？", "在订单页申请。")
    asked = decide(sig("退款"), ACTIVE, CFG, INTENTS, [a, b])
    assert asked.choices == [
        {"kind": "faq", "id": 1, "title": "退款多久到账？", "answer": "1–3 个工作日。", "score": 0.91},
        {"kind": "faq", "id": 2, "title": "怎么申请退款？", "answer": "在订单页申请。", "score": 0.9},
    ]
    for text in ("怎么申请退款？", "怎麼申請退款？", "怎么申请退款"):
        picked = decide(sig(text), asked.state, CFG, INTENTS, [])
        assert (picked.action, picked.reason, picked.entry) == ("answer", "clarified", _entry_of(b)), text
    assert decide(sig("怎么申请退款呢"), asked.state, CFG, INTENTS, []).reason != "clarified"


def _entry_of(hit: Hit) -> dict[str, object]:
    return {"kind": hit.entry_kind, "id": hit.entry_id, "title": hit.title}


def test_clarify_in_english_lists_three_choices_at_most() -> None:
    hits = [Hit("faq", i, 0.95 - i * 0.004, f"Q{i}", f"A{i}") for i in range(1, 6)]
    d = decide(sig("refund", "en"), ACTIVE, CFG, INTENTS, hits)
    assert d.action == "clarify"
    assert d.reply == Reply(TextKey.CLARIFY, after="\n1. Q1\n2. Q2\n3. Q3")
    assert decide(sig("third", "en"), d.state, CFG, INTENTS, []).entry == {"kind": "faq", "id": 3, "title": "Q3"}


def test_explicit_requests_for_a_human_hand_off_in_zh_and_en() -> None:
    asks = [("转人工", "zh"), ("我要人工客服", "zh"), ("找客服", "zh"), ("轉人工", "zh")]
    asks += [("I want a human", "en"), ("let me talk to an agent", "en"), ("real person please", "en")]
    for text, lang in asks:
        d = decide(sig(text, lang), ACTIVE, CFG, INTENTS, [REFUND])
        assert (d.action, d.handoff_reason) == ("handoff", "explicit_request"), text
        assert d.state == {"active": False, "handoff": {"reason": "explicit_request", "intent": None}}
    assert decide(sig("转人工"), ACTIVE, CFG, INTENTS, []).reply == Reply(TextKey.HANDOFF)
    assert decide(sig("human please", "en"), ACTIVE, CFG, INTENTS, []).reply == Reply(TextKey.HANDOFF)


def test_words_that_only_look_like_a_handoff_request_do_not_trigger_it() -> None:
    assert not asks_for_human(sig("人工智能能退款吗"), [])
    assert not asks_for_human(sig("my user agent is firefox", "en"), [])
    assert asks_for_human(sig("请帮我找主管"), ["找主管"])


def test_anger_hands_off_with_the_reasons_in_the_summary() -> None:
    s = sig(
        "你们太垃圾了！！退款到现在还没到",
        anger=True,
        sentiment="negative",
        sentiment_score=-0.9,
        sentiment_reasons=["insult: 垃圾", "exclamation"],
        intent="refund",
        intent_confidence=0.77,
    )
    d = decide(s, ACTIVE, CFG, INTENTS, [REFUND], Context(recent_messages=["你好", "退款呢？", s.text]))
    assert (d.action, d.handoff_reason) == ("handoff", "anger")
    assert d.summary == {
        "reason": "anger",
        "language": "zh",
        "last_messages": ["你好", "退款呢？", s.text],
        "intent": "refund",
        "intent_confidence": 0.77,
        "entities": [],
        "sentiment": "negative",
        "anger": True,
        "urgency": False,
        "sentiment_reasons": ["insult: 垃圾", "exclamation"],
        "contact_tier": "normal",
    }
    assert summary_note(d.summary) == "\n".join(
        [
            "【转人工】客户情绪激动",
            "意图：refund (0.77)",
            "情绪：negative [anger] — insult: 垃圾; exclamation",
            "最近消息：",
            "- 你好",
            "- 退款呢？",
            "- " + s.text,
        ]
    )
    assert summary_note(d.summary, "en") == "\n".join(
        [
            "[Handoff] customer is angry",
            "Intent: refund (0.77)",
            "Sentiment: negative [anger] — insult: 垃圾; exclamation",
            "Last messages:",
            "- 你好",
            "- 退款呢？",
            "- " + s.text,
        ]
    )  # one language, the customer's words as written


def test_anger_rule_can_be_switched_off() -> None:
    cfg = BotConfig(handoff=HandoffRules(anger=False))
    assert decide(sig("气死了 怎么退款", anger=True), ACTIVE, cfg, INTENTS, [REFUND]).action == "answer"


def test_vip_tier_rule_hands_off() -> None:
    cfg = BotConfig(handoff=HandoffRules(vip_tiers=["vip"]))
    d = decide(sig("怎么退款"), ACTIVE, cfg, INTENTS, [REFUND], Context(contact_tier="vip"))
    assert (d.action, d.handoff_reason) == ("handoff", "vip")
    assert decide(sig("怎么退款"), ACTIVE, cfg, INTENTS, [REFUND], Context(contact_tier="gold")).action == "answer"


def test_out_of_scope_twice_in_a_row_hands_off() -> None:
    s = sig("今天天气怎么样", intent=None, out_of_scope=True)
    first = decide(s, ACTIVE, CFG, INTENTS, [INVOICE])
    assert (first.action, first.reason) == ("fallback", "out_of_scope")
    assert (first.text, first.reply) == ("", Reply(TextKey.FALLBACK))
    assert first.state == {"active": True, "misses": 1}
    second = decide(s, first.state, CFG, INTENTS, [])
    assert (second.action, second.handoff_reason) == ("handoff", "out_of_scope_twice")


def test_an_answer_between_two_misses_resets_the_count() -> None:
    oos = sig("what's the weather", "en", out_of_scope=True)
    first = decide(oos, ACTIVE, CFG, INTENTS, [])
    answered = decide(sig("refund", "en"), first.state, CFG, INTENTS, [REFUND])
    assert answered.state["misses"] == 0
    again = decide(oos, answered.state, CFG, INTENTS, [])
    assert (again.action, again.reply) == ("fallback", Reply(TextKey.FALLBACK))


def test_low_confidence_rule_hands_off_at_the_first_miss() -> None:
    cfg = BotConfig(handoff=HandoffRules(low_confidence=True))
    s = sig("发票抬头写错了", intent="invoice", intent_confidence=0.9)
    d = decide(s, ACTIVE, cfg, INTENTS, [INVOICE])
    assert (d.action, d.handoff_reason) == ("handoff", "low_confidence")
    assert decide(s, ACTIVE, CFG, INTENTS, [INVOICE]).reason == "low_confidence"  # rule off: a fallback


def test_intents_start_flows_hand_off_or_reply() -> None:
    order = sig("我的订单到哪了", intent="order_status", intent_confidence=0.9)
    d = decide(order, ACTIVE, CFG, INTENTS, [REFUND])
    assert (d.action, d.flow_id, d.reason) == ("flow", 7, "intent:order_status")
    human = decide(sig("投诉", intent="human", intent_confidence=0.8), ACTIVE, CFG, INTENTS, [])
    assert (human.action, human.handoff_reason) == ("handoff", "intent")
    hello = decide(sig("hi", "en", intent="greeting", intent_confidence=0.95), ACTIVE, CFG, INTENTS, [])
    assert (hello.action, hello.text) == ("reply", "Hello!")
    unsure = decide(sig("订单", intent="order_status", intent_confidence=0.3), ACTIVE, CFG, INTENTS, [REFUND])
    assert unsure.action == "answer"  # below the intent threshold: knowledge decides
    oos = decide(sig("订单", intent="order_status", intent_confidence=0.9, out_of_scope=True), ACTIVE, CFG, INTENTS, [])
    assert oos.reason == "out_of_scope"


def test_intent_without_a_rule_falls_through_to_knowledge() -> None:
    d = decide(sig("退款", intent="refund", intent_confidence=0.9), ACTIVE, CFG, INTENTS, [REFUND])
    assert (d.action, d.entry) == ("answer", {"kind": "faq", "id": 11, "title": "怎么申请退款？"})


def test_oos_threshold_override() -> None:
    cfg = BotConfig(oos_threshold=0.8)
    s = sig("我的订单到哪了", intent="order_status", intent_confidence=0.7)
    d = decide(s, ACTIVE, cfg, INTENTS, [])
    assert (d.action, d.reason) == ("fallback", "out_of_scope")


FLOWING = {"active": True, "flow": {"flow_id": 7, "name": "order", "slots": {}, "awaiting": "order_id", "retries": 0}}
FILLS = Context(fills_slot=True)


def test_a_running_flow_continues_unless_the_customer_asks_for_a_human() -> None:
    d = decide(sig("KF20261125001"), FLOWING, CFG, INTENTS, [REFUND], FILLS)
    assert (d.action, d.flow_id, d.reason) == ("flow", 7, "flow_continues")
    assert d.state == FLOWING
    assert decide(sig("转人工"), FLOWING, CFG, INTENTS, [], FILLS).action == "handoff"


def test_a_message_filling_the_slot_continues_the_flow_even_when_it_also_matches_something_else() -> None:
    s = sig("退款的那个订单 KF20261125001", intent="refund", intent_confidence=0.9)
    d = decide(s, FLOWING, CFG, INTENTS, [REFUND], FILLS)
    assert (d.action, d.reason, d.state) == ("flow", "flow_continues", FLOWING)


def test_a_knowledge_answer_leaves_the_flow() -> None:
    d = decide(sig("怎么退款"), FLOWING, CFG, INTENTS, [REFUND, INVOICE])
    assert (d.action, d.reason, d.entry) == (
        "answer",
        "knowledge",
        {"kind": "faq", "id": 11, "title": "怎么申请退款？"},
    )
    assert d.state == {"active": True, "misses": 0}
    assert d.scores["left_flow"] == {"flow_id": 7, "name": "order"}


def test_another_recognised_intent_leaves_the_flow_and_is_handled_as_that_intent() -> None:
    hello = decide(sig("你好", intent="greeting", intent_confidence=0.9), FLOWING, CFG, INTENTS, [])
    assert (hello.action, hello.reason, hello.text) == ("reply", "intent:greeting", "您好！")
    assert hello.state == {"active": True, "misses": 0}
    human = decide(sig("我要投诉", intent="human", intent_confidence=0.8), FLOWING, CFG, INTENTS, [])
    assert (human.action, human.handoff_reason) == ("handoff", "intent")
    other = {**INTENTS, "invoice": IntentRule("invoice", flow_id=8)}
    invoice = decide(sig("我要开发票", intent="invoice", intent_confidence=0.8), FLOWING, CFG, other, [])
    assert (invoice.action, invoice.flow_id, invoice.reason, invoice.state) == (
        "flow", 8, "intent:invoice", {"active": True, "misses": 0},
    )  # fmt: skip
    refund = decide(sig("我要退款", intent="refund", intent_confidence=0.9), FLOWING, CFG, INTENTS, [INVOICE])
    assert (refund.action, refund.reason, refund.state) == ("fallback", "low_confidence", {"active": True, "misses": 1})


def test_a_message_that_neither_fills_the_slot_nor_clearly_means_something_else_is_a_failed_try() -> None:
    weather = sig("今天天气怎么样", intent="greeting", intent_confidence=0.3)  # below the intent floor
    below_floor = FloorHit("faq", 11, 0.87, "如何申请退货？", "……", relative_score=0.05, answer_floor=0.08)
    for s, hits in [(weather, [INVOICE, below_floor]), (sig("天气", out_of_scope=True, intent="greeting"), [])]:
        d = decide(s, FLOWING, CFG, INTENTS, hits)
        assert (d.action, d.reason, d.flow_id, d.state) == ("flow", "flow_continues", 7, FLOWING), s.text
    again = sig("我的订单呢", intent="order_status", intent_confidence=0.9)  # the flow's own intent
    assert decide(again, FLOWING, CFG, INTENTS, []).reason == "flow_continues"


def test_after_handoff_the_bot_is_silent_once_a_person_replied() -> None:
    state = {"active": False, "handoff": {"reason": "anger"}}
    d = decide(sig("还在吗？"), state, CFG, INTENTS, [REFUND], Context(agent_replied=True, now=NOON))
    assert (d.action, d.reason, d.text) == ("silent", "handed_off", "")
    assert d.state == state
    assert decide(sig("hello", "en"), {}, CFG, INTENTS, [REFUND]).reason == "inactive"


NOON = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # Thursday 12:00 in Asia/Shanghai
OFFICE = BusinessHours(always_open=False, week={d: [OpenRange(start="09:00", end="18:00")] for d in DAYS[:5]})


def test_while_waiting_for_a_person_messages_are_acknowledged_at_most_every_five_minutes() -> None:
    waiting = {"active": False, "handoff": {"reason": "explicit_request", "intent": None, "message_id": 41}}
    first = decide(sig("还在吗？"), waiting, CFG, INTENTS, [REFUND], Context(now=NOON))
    assert (first.action, first.reason, first.reply) == ("acknowledge", "waiting_for_agent", Reply(TextKey.WAITING_ACK))
    assert first.state == {
        "active": False,
        "handoff": {"reason": "explicit_request", "intent": None, "message_id": 41, "acked_at": NOON.isoformat()},
    }
    soon = decide(sig("hello?", "en"), first.state, CFG, INTENTS, [], Context(now=NOON + timedelta(minutes=4)))
    assert (soon.action, soon.reason, soon.state) == ("silent", "handed_off", first.state)
    later = decide(sig("hello?", "en"), first.state, CFG, INTENTS, [], Context(now=NOON + timedelta(minutes=5)))
    assert (later.action, later.reply) == ("acknowledge", Reply(TextKey.WAITING_ACK))
    replied = Context(now=NOON + timedelta(hours=1), agent_replied=True)
    assert decide(sig("谢谢"), first.state, CFG, INTENTS, [], replied).action == "silent"


def test_outside_business_hours_the_handoff_and_acknowledgements_say_when_someone_answers() -> None:
    friday_night = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # Friday 20:30 in Shanghai → Monday 09:00
    ctx = Context(now=friday_night, hours=OFFICE)
    d = decide(sig("转人工"), ACTIVE, CFG, INTENTS, [], ctx)
    monday = "11月30日（周一） 09:00（Asia/Shanghai 时间）"
    assert (d.text, d.reply) == ("", Reply(TextKey.HANDOFF_CLOSED, {"when": monday}))
    en = decide(sig("I want a human", "en"), ACTIVE, CFG, INTENTS, [], ctx)
    assert en.reply == Reply(TextKey.HANDOFF_CLOSED, {"when": "on Mon 30 Nov at 09:00 (Asia/Shanghai time)"})
    ack = decide(sig("在吗"), d.state, CFG, INTENTS, [], Context(now=friday_night, hours=OFFICE))
    assert ack.reply == Reply(TextKey.WAITING_ACK_CLOSED, {"when": monday})
    early = Context(now=datetime(2026, 11, 26, 0, 0, tzinfo=UTC), hours=OFFICE)  # Thursday 08:00
    assert decide(sig("在吗"), d.state, CFG, INTENTS, [], early).reply == Reply(
        TextKey.WAITING_ACK_CLOSED, {"when": "今天 09:00（Asia/Shanghai 时间）"}
    )
    assert decide(sig("转人工"), ACTIVE, CFG, INTENTS, [], Context(now=NOON, hours=OFFICE)).reply == Reply(
        TextKey.HANDOFF
    )
    closed = BusinessHours(always_open=False)
    never = decide(sig("转人工"), ACTIVE, CFG, INTENTS, [], Context(now=NOON, hours=closed))
    assert never.reply == Reply(TextKey.HANDOFF_NEVER)
    assert decide(sig("在吗"), never.state, CFG, INTENTS, [], Context(now=NOON, hours=closed)).reply == Reply(
        TextKey.WAITING_ACK_NEVER
    )


def test_summary_lists_entities() -> None:
    ent = Entity("order_id", "KF20261125001", "KF20261125001", 3, 16)
    d = decide(sig("订单 KF20261125001 转人工", entities=[ent]), ACTIVE, CFG, INTENTS, [])
    assert d.summary is not None
    assert d.summary["entities"] == [{"type": "order_id", "value": "KF20261125001"}]
    assert "实体：order_id=KF20261125001" in summary_note(d.summary).splitlines()


def test_confidence_is_the_cosine_not_the_fused_rank_score() -> None:
    fused_first = Hit("faq", 1, 0.87, "运费怎么算？", "满 99 包邮。", score=0.0330)
    closer = Hit("faq", 2, 0.93, "怎么申请退款？", "在订单页申请。", score=0.0325)
    d = decide(sig("我想退款"), ACTIVE, CFG, INTENTS, [fused_first, closer])
    assert (d.action, d.entry, d.score) == ("answer", {"kind": "faq", "id": 2, "title": "怎么申请退款？"}, 0.93)


@dataclass(frozen=True)
class FloorHit(Hit):
    relative_score: float = 0.0
    answer_floor: float | None = None
    matched_text: str = ""


def test_a_hit_below_the_knowledge_bases_answer_floor_is_not_answered() -> None:
    # chit-chat: a high cosine (0.87) but no closer to this entry than to the rest of the knowledge base
    chat = FloorHit("faq", 11, 0.87, "如何申请退货？", "……", relative_score=0.051, answer_floor=0.080)
    d = decide(sig("今天天气怎么样"), ACTIVE, CFG, INTENTS, [chat])
    assert (d.action, d.reason, d.state["misses"]) == ("fallback", "out_of_scope", 1)
    answered = decide(sig("今天天气怎么样"), ACTIVE, BotConfig(calibrated_answers=False), INTENTS, [chat])
    assert (answered.action, answered.entry) == ("answer", {"kind": "faq", "id": 11, "title": "如何申请退货？"})
    at_floor = FloorHit("faq", 11, 0.87, "如何申请退货？", "……", relative_score=0.080, answer_floor=0.080)
    assert decide(sig("东西不想要了"), ACTIVE, CFG, INTENTS, [at_floor]).action == "answer"
    no_floor = FloorHit("faq", 11, 0.87, "如何申请退货？", "……", relative_score=0.01, answer_floor=None)
    assert decide(sig("东西不想要了"), ACTIVE, CFG, INTENTS, [no_floor]).action == "answer"  # cosine only


def test_only_hits_above_the_floor_are_offered_as_choices() -> None:
    a = FloorHit("faq", 1, 0.91, "退款多久到账？", "1–3 个工作日。", relative_score=0.09, answer_floor=0.08)
    b = FloorHit("faq", 2, 0.90, "怎么申请退款？", "在订单页申请。", relative_score=0.079, answer_floor=0.08)
    d = decide(sig("退款"), ACTIVE, CFG, INTENTS, [a, b])
    assert (d.action, d.entry) == ("answer", {"kind": "faq", "id": 1, "title": "退款多久到账？"})


def test_a_message_that_is_one_of_an_entrys_questions_is_answered_without_a_clarifying_question() -> None:
    exact = FloorHit("faq", 1, 0.959, "如何申请退货？", "登录后进入我的订单……", matched_text="怎么退货")
    near = FloorHit("faq", 2, 0.953, "退货的条件是什么？", "签收后 7 天内……", matched_text="退货的条件是什么？")
    for text in ("怎么退货？", "怎麼退貨", " 怎么退货 "):  # punctuation, 繁體 and spaces aside
        d = decide(sig(text), ACTIVE, CFG, INTENTS, [exact, near])
        assert (d.action, d.entry) == ("answer", {"kind": "faq", "id": 1, "title": "如何申请退货？"}), text
    assert decide(sig("怎么退货呢"), ACTIVE, CFG, INTENTS, [exact, near]).action == "clarify"
    second = decide(sig("退货的条件是什么"), ACTIVE, CFG, INTENTS, [exact, near])  # not only the top hit
    assert (second.action, second.entry["id"]) == ("answer", 2)  # type: ignore[index]
