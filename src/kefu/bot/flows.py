"""Declarative multi-turn flows: fill slots from what the customer says, call one HTTP action, answer
from its JSON with a template. See docs/bot.md for the format; `FlowDefinition` validates it.

Example (the demo's order-status flow)::

    {
      "slots": [{"name": "order_id", "entity": "order_id", "regex": "[A-Za-z]{0,4}\\d{6,20}",
                 "prompt": {"zh": "请提供您的订单号", "en": "What is your order number?"}}],
      "action": {"method": "GET", "url": "http://127.0.0.1:8000/api/v1/demo/orders/{order_id}",
                 "timeout_s": 3},
      "reply": {"zh": "订单 {order_id} 状态：{status}，预计 {eta} 送达",
                "en": "Order {order_id}: {status}, expected {eta}"},
      "not_found_reply": {"zh": "没有找到订单 {order_id}", "en": "No order {order_id} was found"},
      "give_up_reply": {"zh": "没能识别到订单号，您可以稍后再查，或回复“转人工”", "en": "…"},
      "max_retries": 2
    }

The state of a running flow lives in `Conversation.bot_state["flow"]`:
``{"flow_id", "name", "slots": {name: value}, "awaiting": slot name | None, "retries": n}``.
`advance` is pure (no I/O); `run_action` makes the one HTTP call through kefu.core.http.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from kefu.bot.texts import TextKey
from kefu.core.http import HttpPolicy, OutboundError, OutboundHttp
from kefu.nlp.entities import Entity
from kefu.nlp.normalise import nfkc

SLOT_ENTITIES = {
    "order_id": "order_id",
    "tracking": "tracking_number",
    "tracking_number": "tracking_number",
    "phone": "phone",
    "email": "email",
    "date": "date",
    "time": "time",
    "datetime": "datetime",
    "money": "money",
    "text": "",  # any non-blank message
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")
_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,40}$"


def _lang_keys(texts: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(texts) - {"zh", "en"})
    if unknown:
        raise ValueError(f"texts are keyed by language: zh or en, not {', '.join(unknown)}")
    return texts


Texts = Annotated[dict[str, str], AfterValidator(_lang_keys)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _need_text(texts: dict[str, str], what: str) -> dict[str, str]:
    if not any(v.strip() for v in texts.values()):
        raise ValueError(f"{what} needs a text in at least one language (zh or en)")
    return texts


class SlotDef(_Strict):
    name: str = Field(pattern=_NAME)
    entity: str = Field("text", description="entity type filling the slot: " + ", ".join(SLOT_ENTITIES))
    regex: str | None = Field(None, max_length=300, description="value must match (searched in the message)")
    prompt: Texts
    retry_prompt: Texts | None = None

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, v: str) -> str:
        if v not in SLOT_ENTITIES:
            raise ValueError(f"unknown entity type {v!r}; use one of: {', '.join(SLOT_ENTITIES)}")
        return v

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from exc
        return v

    @field_validator("prompt")
    @classmethod
    def _prompt_text(cls, v: dict[str, str]) -> dict[str, str]:
        return _need_text(v, "prompt")


class ActionDef(_Strict):
    method: Literal["GET", "POST"] = "GET"
    url: str = Field(min_length=8, max_length=2000)
    timeout_s: float = Field(3.0, gt=0, le=30)
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = None  # string values may hold {slot} placeholders (POST)

    @field_validator("url")
    @classmethod
    def _fixed_host(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https"):
            raise ValueError("url must start with http:// or https://")
        if not parts.netloc or "{" in parts.netloc or "}" in parts.netloc:
            raise ValueError("url needs a fixed host: placeholders may only appear in the path or query")
        return v


class FlowDefinition(_Strict):
    description: str = ""
    slots: list[SlotDef] = Field(min_length=1, max_length=10)
    action: ActionDef | None = None
    reply: Texts
    not_found_reply: Texts | None = None
    give_up_reply: Texts | None = None  # said when a prompt stays unanswered; the bot text flow_gave_up when absent
    max_retries: int = Field(2, ge=0, le=5)

    @field_validator("reply")
    @classmethod
    def _reply_text(cls, v: dict[str, str]) -> dict[str, str]:
        return _need_text(v, "reply")

    @model_validator(mode="after")
    def _placeholders_known(self) -> FlowDefinition:
        names = [s.name for s in self.slots]
        if len(set(names)) != len(names):
            raise ValueError("slot names must be unique")
        if self.action is not None:
            for name in _PLACEHOLDER.findall(self.action.url):
                if name not in names:
                    raise ValueError(f"action.url uses {{{name}}}, which is not a slot ({', '.join(names)})")
        elif any(name not in names for t in self.reply.values() for name in _PLACEHOLDER.findall(t)):
            raise ValueError("reply uses placeholders that are not slots (and there is no action to fill them)")
        return self


def validate_definition(data: Any) -> FlowDefinition:
    """FlowDefinition or pydantic.ValidationError (its errors carry the path of the bad field)."""
    return FlowDefinition.model_validate(data)


# ---- the pure part: what to do with a customer message ---------------------------------------------


@dataclass(frozen=True)
class Prompt:
    slot: str
    text: str
    retry: bool
    note: TextKey | None = None  # a bot text said before the question (kefu.bot.texts)


@dataclass(frozen=True)
class Ready:
    slots: dict[str, str]


@dataclass(frozen=True)
class GiveUp:
    slot: str
    retries: int


Step = Prompt | Ready | GiveUp


@dataclass
class FlowState:
    flow_id: int
    name: str
    slots: dict[str, str] = field(default_factory=dict)
    awaiting: str | None = None
    retries: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "name": self.name,
            "slots": dict(self.slots),
            "awaiting": self.awaiting,
            "retries": self.retries,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowState:
        return cls(
            int(data["flow_id"]),
            str(data.get("name", "")),
            dict(data.get("slots") or {}),
            data.get("awaiting"),
            int(data.get("retries", 0)),
        )


def give_up_text(defn: FlowDefinition, language: str) -> str:
    """The flow's own text for when it gives up on an unanswered prompt (the flow ends); empty: the bot's
    text `flow_gave_up` (kefu.bot.texts) is said instead."""
    return pick(defn.give_up_reply or {}, language)


def fills_slot(defn: FlowDefinition, state: FlowState, text: str, entities: list[Entity]) -> bool:
    """Whether this message carries a value for the slot the running flow is waiting for."""
    slot = next((s for s in defn.slots if s.name == state.awaiting), None)
    return slot is not None and extract_slot(slot, text, entities) is not None


def pick(texts: dict[str, str], language: str) -> str:
    """The text for the customer's language: en for English, zh otherwise; else whichever exists."""
    want = "en" if language == "en" else "zh"
    other = "zh" if want == "en" else "en"
    return texts.get(want) or texts.get(other) or ""


def extract_slot(slot: SlotDef, text: str, entities: list[Entity]) -> str | None:
    """The slot's value in this message, or None."""
    pattern = re.compile(slot.regex, re.IGNORECASE) if slot.regex else None
    kind = SLOT_ENTITIES[slot.entity]
    if kind:
        for ent in entities:
            if ent.type == kind and (pattern is None or pattern.fullmatch(ent.value) or pattern.fullmatch(ent.text)):
                return ent.value
    if pattern is not None:
        m = pattern.search(nfkc(text))
        if m:
            value = m.group(1) if pattern.groups else m.group(0)
            return value.upper() if kind in ("order_id", "tracking_number") else value.strip()
    if not kind and pattern is None and text.strip():
        return text.strip()[:500]
    return None


def advance(
    defn: FlowDefinition,
    state: FlowState,
    text: str,
    entities: list[Entity],
    language: str,
    *,
    off_topic: bool = False,
) -> Step:
    """Fill slots from this message; say what comes next. Mutates `state` (slots, awaiting, retries).

    `off_topic`: the message is out of the bot's scope. A failed try without a digit or an entity of the
    slot's type (so not a mistyped value) then says so and asks the slot's own question again, instead of
    "not recognised, send it again", which reads as if the customer had tried to answer.

    On the first turn (state.awaiting is None) every slot the message already carries is taken, so
    "我的订单 KF20261125001 到哪了" needs no question. Free-text slots are only filled when asked for."""
    first_turn = state.awaiting is None
    for slot in defn.slots:
        if slot.name in state.slots:
            continue
        if first_turn and slot.entity == "text":
            continue
        if not first_turn and slot.name != state.awaiting:
            continue
        value = extract_slot(slot, text, entities)
        if value is not None:
            state.slots[slot.name] = value
            if slot.name == state.awaiting:
                state.retries = 0
    missing = next((s for s in defn.slots if s.name not in state.slots), None)
    if missing is None:
        state.awaiting = None
        return Ready(dict(state.slots))
    if not first_turn and missing.name == state.awaiting:
        state.retries += 1
        if state.retries > defn.max_retries:
            return GiveUp(missing.name, state.retries)
        kind = SLOT_ENTITIES[missing.entity]
        attempt = any(ch.isdigit() for ch in text) or any(e.type == kind for e in entities)
        if off_topic and not attempt:  # not a mistyped value: say the bot cannot help with that, ask again
            return Prompt(missing.name, pick(missing.prompt, language), True, TextKey.FLOW_OFF_TOPIC)
        return Prompt(missing.name, pick(missing.retry_prompt or missing.prompt, language), retry=True)
    state.awaiting = missing.name
    state.retries = 0
    return Prompt(missing.name, pick(missing.prompt, language), retry=False)


def render(template: str, context: dict[str, Any]) -> str:
    """Fill {name} and {a.b} placeholders from `context` (nested dicts); unknown ones become "—".
    No attribute access, no format specs: a template cannot reach anything but the values given."""

    def value(m: re.Match[str]) -> str:
        cur: Any = context
        for part in m.group(1).split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
                cur = cur[int(part)]
            else:
                return "—"
        return "—" if cur is None else str(cur)

    return _PLACEHOLDER.sub(value, template)


# ---- the action --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    status: int | None = None  # HTTP status when the server answered
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # what went wrong: "timeout", "denied", "failed", "too_large", "http_500", …
    message: str = ""


def action_url(action: ActionDef, slots: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: quote(str(slots.get(m.group(1), "")), safe=""), action.url)


def _body(value: Any, slots: dict[str, str]) -> Any:
    if isinstance(value, str):
        return render(value, slots)
    if isinstance(value, dict):
        return {k: _body(v, slots) for k, v in value.items()}
    if isinstance(value, list):
        return [_body(v, slots) for v in value]
    return value


async def run_action(
    http: OutboundHttp, action: ActionDef, slots: dict[str, str], policy: HttpPolicy | None = None
) -> ActionResult:
    """Call the action's URL under `policy` — the account's outbound hosts
    (`kefu.accounts.service.get_outbound_policy`); without one nothing may be called."""
    url = action_url(action, slots)
    try:
        resp = await http.request(
            action.method,
            url,
            json_body=_body(action.body, slots) if action.method == "POST" else None,
            headers=action.headers,
            timeout_s=action.timeout_s,
            policy=policy or HttpPolicy(),
        )
    except OutboundError as exc:
        return ActionResult(False, error=exc.code, message=str(exc))
    if resp.status_code == 404:
        return ActionResult(False, 404, error="not_found", message="the action answered 404")
    if not resp.ok:
        return ActionResult(False, resp.status_code, error=f"http_{resp.status_code}", message="action failed")
    try:
        data = resp.json()
    except OutboundError as exc:
        return ActionResult(False, resp.status_code, error="bad_json", message=str(exc))
    return ActionResult(True, resp.status_code, data if isinstance(data, dict) else {"result": data})


def final_reply(defn: FlowDefinition, result: ActionResult | None, slots: dict[str, str], language: str) -> str | None:
    """The answer for the customer, or None when the flow failed and a human should take over."""
    if result is None or result.ok:
        context: dict[str, Any] = {**(result.data if result else {}), **slots}
        return render(pick(defn.reply, language), context)
    if result.error == "not_found" and defn.not_found_reply:
        return render(pick(defn.not_found_reply, language), slots)
    return None
