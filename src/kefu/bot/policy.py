"""The dialogue policy: pure functions from what NLP says about a message, the conversation's bot state,
the account's bot configuration and the knowledge hits to one `Decision`. No I/O, no database. Fixed
replies are keys of kefu.bot.texts (`Decision.reply`): the runtime renders them with the account's texts.

Order of the rules (first match wins):
 1. bot inactive (after a handoff, until the conversation is resolved): while no person has replied since
    the handoff, acknowledge the customer's message (at most every waiting.ACK_EVERY; outside business
    hours saying when someone will answer) → acknowledge; else → silent
 2. explicit request for a human (转人工 / 人工客服 / "human" / "agent" …) → handoff
 3. anger (sentiment flag), VIP tier → handoff (when the rule is on)
 4. a pending clarifying question answered ("1", "第二个", or a choice's title) → answer that entry
 5. a running flow: a message that fills the awaited slot → flow step; otherwise a message that clearly
    means something else — a recognised intent (rule 6's confidence floor) other than the flow's own, or
    a knowledge answer (rule 7's floors) — ends the flow and is handled by rules 6–8; anything else →
    flow step (a failed try: the flow asks again, and gives up after max_retries)
 6. a recognised intent: handoff intent → handoff; intent with a flow → start it; canned reply → reply
 7. knowledge: the message is one of an entry's questions (after normalisation) → answer it; otherwise
    the hits that are answerable (cosine ≥ answer_min_score and, with calibrated_answers, a relative
    score at the knowledge base's answer floor) → answer the best, or clarify (2–3 choices) when
    runner-ups are close
 8. otherwise a miss: low-confidence rule → handoff; second miss in a row (oos_twice) → handoff;
    else a fallback reply inviting the customer to rephrase or ask for a human.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from kefu.accounts.hours import BusinessHours
from kefu.bot.texts import Reply, TextKey
from kefu.bot.waiting import ack_due, handoff_message, waiting_ack
from kefu.nlp.entities import Entity
from kefu.nlp.normalise import normalise
from kefu.nlp.retrieval import ANSWER_MIN_SCORE
from kefu.nlp.retrieval import answerable as _clears_floors

Action = Literal["answer", "clarify", "flow", "reply", "fallback", "handoff", "acknowledge", "silent"]
HandoffReason = Literal["explicit_request", "anger", "vip", "intent", "out_of_scope_twice", "low_confidence", "flow"]

DEFAULT_HANDOFF_WORDS = ["转人工", "人工客服", "人工服务", "找客服", "真人客服", "人工"]
_EN_HANDOFF = re.compile(
    r"\b(human|agent|real person|live person|operator|representative|speak to (a )?person)s?\b", re.IGNORECASE
)
_NOT_HANDOFF = re.compile(r"人工智能|人工费|user agent|agent[- ]based", re.IGNORECASE)
_ORDINALS = {
    "1": 0, "一": 0, "第一": 0, "first": 0,
    "2": 1, "二": 1, "第二": 1, "second": 1,
    "3": 2, "三": 2, "第三": 2, "third": 2,
}  # fmt: skip


class HitLike(Protocol):
    """What the policy reads of a kefu.knowledge.search.KnowledgeHit."""

    @property
    def entry_kind(self) -> str: ...
    @property
    def entry_id(self) -> int: ...
    @property
    def score(self) -> float: ...  # fused rank score (RRF): orders hits, says nothing absolute
    @property
    def dense_score(self) -> float: ...  # cosine similarity: the absolute confidence thresholds apply to


def confidence(hit: HitLike) -> float:
    """How sure the bot is that a knowledge hit answers the message: its cosine similarity."""
    return float(hit.dense_score)


def answerable(hit: HitLike, config: BotConfig) -> bool:
    """Whether a hit is good enough to answer with. Besides the cosine floor, with `calibrated_answers` the
    hit's relative score (its cosine minus the message's mean cosine to the other entries) must reach the
    knowledge base's answer floor, when the index could place one (hits without these attributes: cosine only)."""
    floor = getattr(hit, "answer_floor", None) if config.calibrated_answers else None
    relative = float(getattr(hit, "relative_score", 0.0))
    return _clears_floors(confidence(hit), relative, min_score=config.answer_min_score, floor=floor)


def _comparable(text: str) -> str:
    """A text as `_from_knowledge` compares a message with an entry's questions: width, 繁/简, case and
    punctuation aside."""
    return re.sub(r"[\W_]+", "", normalise(text).lower())


@dataclass(frozen=True)
class Signals:
    """What NLP found in one customer message (built by runtime.nlu from the pipeline's output)."""

    text: str
    language: str = "zh"
    normalised: str = ""
    intent: str | None = None
    intent_confidence: float = 0.0
    intent_ranking: list[tuple[str, float]] = field(default_factory=list)
    out_of_scope: bool = False
    entities: list[Entity] = field(default_factory=list)
    sentiment: str | None = None
    sentiment_score: float | None = None
    anger: bool = False
    urgency: bool = False
    sentiment_reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HandoffRules:
    keywords: list[str] = field(default_factory=list)  # extra words on top of DEFAULT_HANDOFF_WORDS
    anger: bool = True
    oos_twice: bool = True
    low_confidence: bool = False
    vip_tiers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BotConfig:
    # cosine of the bundled multilingual-e5-small: matching questions score ≳ 0.86, unrelated ≲ 0.83
    answer_min_score: float = ANSWER_MIN_SCORE
    clarify_margin: float = 0.015
    calibrated_answers: bool = True  # answers also need the knowledge base's answer floor (`answerable`)
    oos_threshold: float | None = None  # intent confidence below this counts as out of scope
    intent_min_confidence: float = 0.5
    handoff: HandoffRules = field(default_factory=HandoffRules)
    greeting: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IntentRule:
    name: str
    handoff: bool = False
    flow_id: int | None = None
    reply: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    contact_tier: str = "normal"
    recent_messages: list[str] = field(default_factory=list)  # the customer's latest messages, oldest first
    fills_slot: bool = False  # the message carries a value for the running flow's awaited slot (flows.fills_slot)
    now: datetime | None = None  # when the message is handled (aware): business hours, acknowledgements
    hours: BusinessHours | None = None  # the account's business hours (None: always open)
    agent_replied: bool = False  # handed off: a person has replied since the handoff


@dataclass
class Decision:
    action: Action
    reason: str
    text: str = ""  # what the bot says: content (an answer, an intent's reply); the rendered `reply`
    reply: Reply | None = None  # a fixed text of the catalogue (kefu.bot.texts), rendered by the runtime
    entry: dict[str, Any] | None = None  # {"kind", "id"} of the knowledge entry answered from
    score: float | None = None
    choices: list[dict[str, Any]] = field(default_factory=list)  # [{"kind", "id", "title", "score"}]
    flow_id: int | None = None
    handoff_reason: str | None = None
    summary: dict[str, Any] | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # the conversation's new bot_state

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "text": self.text,
            "reply": self.reply.to_json() if self.reply is not None else None,
            "entry": self.entry,
            "score": self.score,
            "choices": self.choices,
            "flow_id": self.flow_id,
            "handoff_reason": self.handoff_reason,
            "summary": self.summary,
            "scores": self.scores,
        }


def lang_key(language: str) -> str:
    return "en" if language == "en" else "zh"


def say(texts: dict[str, str], language: str) -> str:
    key = lang_key(language)
    return texts.get(key) or texts.get("zh" if key == "en" else "en") or ""


def asks_for_human(signals: Signals, extra_words: list[str]) -> bool:
    text = signals.normalised or signals.text.lower()
    cleaned = _NOT_HANDOFF.sub(" ", text)
    words = DEFAULT_HANDOFF_WORDS + [w.lower() for w in extra_words if w.strip()]
    return any(w in cleaned for w in words) or bool(_EN_HANDOFF.search(cleaned))


def decide(
    signals: Signals,
    state: dict[str, Any],
    config: BotConfig,
    intents: dict[str, IntentRule],
    hits: list[Any],
    ctx: Context | None = None,
) -> Decision:
    ctx = ctx or Context()
    scores = _scores(signals, hits)
    new_state = {k: v for k, v in state.items() if k != "clarify"}
    if not state.get("active"):
        return _while_handed_off(signals, state, ctx, scores)
    rules = config.handoff
    if asks_for_human(signals, rules.keywords):
        return handoff(signals, new_state, "explicit_request", ctx, scores)
    if rules.anger and signals.anger:
        return handoff(signals, new_state, "anger", ctx, scores)
    if ctx.contact_tier in rules.vip_tiers:
        return handoff(signals, new_state, "vip", ctx, scores)
    picked = _clarify_choice(signals, state.get("clarify"))
    if picked is not None:
        new_state["misses"] = 0
        return Decision(
            "answer",
            "clarified",
            text=picked.get("answer", ""),
            entry=_entry(picked),
            score=picked.get("score"),
            scores=scores,
            state=new_state,
        )
    recognised = _recognised_intent(signals, config)
    rule = intents.get(recognised) if recognised else None
    running = state.get("flow")
    if running:
        flow_id = int(running["flow_id"])
        if ctx.fills_slot or not _leaves_flow(flow_id, recognised, rule, signals, hits, config):
            return Decision("flow", "flow_continues", flow_id=flow_id, scores=scores, state=new_state)
        del new_state["flow"]
        scores["left_flow"] = {"flow_id": flow_id, "name": running.get("name", "")}
    if rule is not None:
        decision = _intent_decision(signals, rule, new_state, ctx, scores, config)
        if decision is not None:
            return decision
    return _from_knowledge(signals, new_state, config, hits, ctx, scores)


def _while_handed_off(signals: Signals, state: dict[str, Any], ctx: Context, scores: dict[str, Any]) -> Decision:
    waiting = state.get("handoff")
    if not isinstance(waiting, dict):
        return Decision("silent", "inactive", scores=scores, state=state)
    if ctx.agent_replied or not ack_due(waiting, ctx.now):
        return Decision("silent", "handed_off", scores=scores, state=state)
    acked = ctx.now.isoformat() if ctx.now is not None else None
    new_state = {**state, "handoff": {**waiting, "acked_at": acked}}
    reply = waiting_ack(signals.language, ctx.hours, ctx.now)
    return Decision("acknowledge", "waiting_for_agent", reply=reply, scores=scores, state=new_state)


def _recognised_intent(signals: Signals, config: BotConfig) -> str | None:
    if signals.intent is None or signals.out_of_scope:
        return None
    floor = config.oos_threshold if config.oos_threshold is not None else config.intent_min_confidence
    return signals.intent if signals.intent_confidence >= floor else None


def _leaves_flow(
    flow_id: int, recognised: str | None, rule: IntentRule | None, signals: Signals, hits: list[Any], config: BotConfig
) -> bool:
    """A message that does not fill the running flow's slot but clearly means something else: an intent
    recognised as rule 6 would (not out of scope, at the intent confidence floor) that is not the one
    starting this flow, or a knowledge answer as rule 7 would give one (`_answers`)."""
    if recognised is not None and (rule is None or rule.flow_id != flow_id):
        return True
    return bool(_answers(signals, hits, config))


def _is_oos(signals: Signals, config: BotConfig) -> bool:
    if signals.out_of_scope:
        return True
    return (
        config.oos_threshold is not None
        and signals.intent is not None
        and (signals.intent_confidence < config.oos_threshold)
    )


def _intent_decision(
    signals: Signals, rule: IntentRule, state: dict[str, Any], ctx: Context, scores: dict[str, Any], config: BotConfig
) -> Decision | None:
    if rule.handoff:
        return handoff(signals, state, "intent", ctx, scores)
    if rule.flow_id is not None:
        state["misses"] = 0
        return Decision("flow", f"intent:{rule.name}", flow_id=rule.flow_id, scores=scores, state=state)
    reply = rule.reply or (config.greeting if rule.name == "greeting" else {})
    if any(v.strip() for v in reply.values()):
        state["misses"] = 0
        return Decision("reply", f"intent:{rule.name}", text=say(reply, signals.language), scores=scores, state=state)
    return None


def _from_knowledge(
    signals: Signals,
    state: dict[str, Any],
    config: BotConfig,
    hits: list[Any],
    ctx: Context,
    scores: dict[str, Any],
) -> Decision:
    good = _answers(signals, hits, config)
    if good:
        best = confidence(good[0])
        close = [h for h in good if best - confidence(h) <= config.clarify_margin][:3]
        state["misses"] = 0
        if len(close) >= 2:
            choices = [_choice(h) for h in close]
            state["clarify"] = choices
            lines = [f"{i}. {c['title']}" for i, c in enumerate(choices, 1)]
            reply = Reply(TextKey.CLARIFY, after="\n" + "\n".join(lines))
            return Decision("clarify", "close_answers", reply=reply, choices=choices, scores=scores, state=state)
        top = _choice(good[0])
        return Decision(
            "answer", "knowledge", text=top["answer"], entry=_entry(top), score=top["score"], scores=scores, state=state
        )
    misses = int(state.get("misses", 0)) + 1
    state["misses"] = misses
    oos = _is_oos(signals, config) or signals.intent is None
    if config.handoff.low_confidence and not oos:
        return handoff(signals, state, "low_confidence", ctx, scores)
    if config.handoff.oos_twice and oos and misses >= 2:
        return handoff(signals, state, "out_of_scope_twice", ctx, scores)
    return Decision(
        "fallback",
        "out_of_scope" if oos else "low_confidence",
        reply=Reply(TextKey.FALLBACK),
        scores=scores,
        state=state,
    )


def _answers(signals: Signals, hits: list[Any], config: BotConfig) -> list[Any]:
    """The hits rule 7 may answer with, best first: the entry the message is one of the questions of (no
    doubt, alone), else the answerable hits."""
    message = _comparable(signals.text)
    exact = next((h for h in hits if message and _comparable(getattr(h, "matched_text", "")) == message), None)
    if exact is not None:
        return [exact]
    return sorted((h for h in hits if answerable(h, config)), key=confidence, reverse=True)


def handoff(signals: Signals, state: dict[str, Any], reason: str, ctx: Context, scores: dict[str, Any]) -> Decision:
    summary = summarise(signals, reason, ctx)
    new_state = {"active": False, "handoff": {"reason": reason, "intent": signals.intent}}
    return Decision(
        "handoff",
        reason,
        reply=handoff_message(signals.language, ctx.hours, ctx.now),
        handoff_reason=reason,
        summary=summary,
        scores=scores,
        state=new_state,
    )


def summarise(signals: Signals, reason: str, ctx: Context) -> dict[str, Any]:
    """The structured summary an agent gets with a handoff."""
    recent = list(ctx.recent_messages[-3:]) or [signals.text]
    return {
        "reason": reason,
        "language": signals.language,
        "last_messages": recent,
        "intent": signals.intent,
        "intent_confidence": round(signals.intent_confidence, 3),
        "entities": [{"type": e.type, "value": e.value} for e in signals.entities],
        "sentiment": signals.sentiment,
        "anger": signals.anger,
        "urgency": signals.urgency,
        "sentiment_reasons": list(signals.sentiment_reasons),
        "contact_tier": ctx.contact_tier,
    }


REASON_LABELS = {
    "explicit_request": {"zh": "客户要求人工", "zh_TW": "客戶要求真人客服", "en": "customer asked for a human"},
    "anger": {"zh": "客户情绪激动", "zh_TW": "客戶情緒激動", "en": "customer is angry"},
    "vip": {"zh": "VIP 客户", "zh_TW": "VIP 客戶", "en": "VIP customer"},
    "intent": {"zh": "需人工处理的意图", "zh_TW": "需真人處理的意圖", "en": "intent handled by people"},
    "out_of_scope_twice": {
        "zh": "机器人连续两次无法回答",
        "zh_TW": "機器人連續兩次無法回答",
        "en": "bot could not answer twice in a row",
    },
    "low_confidence": {"zh": "机器人把握不足", "zh_TW": "機器人把握不足", "en": "bot was not confident"},
    "flow": {"zh": "流程未完成", "zh_TW": "流程未完成", "en": "flow could not finish"},
}
NOTE_LABELS = {
    "title": {"zh": "【转人工】", "zh_TW": "【轉真人客服】", "en": "[Handoff] "},
    "intent": {"zh": "意图：", "zh_TW": "意圖：", "en": "Intent: "},
    "entities": {"zh": "实体：", "zh_TW": "實體：", "en": "Entities: "},
    "sentiment": {"zh": "情绪：", "zh_TW": "情緒：", "en": "Sentiment: "},
    "flow": {"zh": "流程：", "zh_TW": "流程：", "en": "Flow: "},
    "last_messages": {"zh": "最近消息：", "zh_TW": "最近訊息：", "en": "Last messages:"},
}


def summary_note(summary: dict[str, Any], language: str = "zh") -> str:
    """The plain text of the agent's handoff note, in one language (the account's: zh / zh_CN, zh_TW or en).
    The workspace renders the structured summary (the note's `meta.handoff`) in each viewer's own language
    instead; this text is what other readers (API clients, exports) get. The customer's words stay as
    written."""
    key = "zh_TW" if language == "zh_TW" else lang_key(language)

    def label(name: str) -> str:
        return NOTE_LABELS[name][key]

    reason = summary["reason"]
    lines = [label("title") + REASON_LABELS.get(reason, {}).get(key, reason)]
    if summary.get("intent"):
        lines.append(f"{label('intent')}{summary['intent']} ({summary.get('intent_confidence', 0):.2f})")
    if summary.get("entities"):
        lines.append(label("entities") + ", ".join(f"{e['type']}={e['value']}" for e in summary["entities"]))
    flags = [f for f in ("anger", "urgency") if summary.get(f)]
    if summary.get("sentiment") or flags:
        mood = summary.get("sentiment") or ""
        extra = f" [{', '.join(flags)}]" if flags else ""
        why = f" — {'; '.join(summary['sentiment_reasons'])}" if summary.get("sentiment_reasons") else ""
        lines.append(f"{label('sentiment')}{mood}{extra}{why}")
    if summary.get("flow"):
        lines.append(f"{label('flow')}{summary['flow']}")
    lines.append(label("last_messages"))
    lines.extend(f"- {m}" for m in summary.get("last_messages", []))
    return "\n".join(lines)


def _scores(signals: Signals, hits: list[Any]) -> dict[str, Any]:
    return {
        "intent": signals.intent,
        "intent_confidence": round(signals.intent_confidence, 4),
        "out_of_scope": signals.out_of_scope,
        "sentiment": signals.sentiment,
        "sentiment_score": signals.sentiment_score,
        "anger": signals.anger,
        "urgency": signals.urgency,
        "hits": [
            {
                "kind": h.entry_kind,
                "id": h.entry_id,
                "confidence": round(confidence(h), 4),
                "score": round(float(h.score), 4),
                "bm25": round(float(getattr(h, "bm25_score", 0.0)), 4),
            }
            for h in hits[:5]
        ],
    }


def _choice(hit: Any) -> dict[str, Any]:
    title = getattr(hit, "title", None) or getattr(hit, "question", None) or getattr(hit, "matched_text", "")
    answer = getattr(hit, "answer", None) or getattr(hit, "snippet", None) or ""
    return {
        "kind": hit.entry_kind,
        "id": int(hit.entry_id),
        "title": str(title),
        "answer": str(answer),
        "score": round(confidence(hit), 4),
    }


def _entry(choice: dict[str, Any]) -> dict[str, Any]:
    return {"kind": choice["kind"], "id": choice["id"], "title": choice.get("title", "")}


def _clarify_choice(signals: Signals, choices: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if not choices:
        return None
    text = (signals.normalised or signals.text).strip().lower().rstrip("。.!！个")
    text = text.removeprefix("选").removeprefix("option ").removeprefix("no.").strip()
    idx = _ORDINALS.get(text)
    if idx is not None and idx < len(choices):
        return choices[idx]
    said = _comparable(signals.text)  # a choice's title, as a quick-reply button sends it (or in 繁體)
    for choice in choices:
        if said and said == _comparable(str(choice.get("title", ""))):
            return choice
    return None
