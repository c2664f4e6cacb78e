"""Request / response shapes of the bot configuration API and the try-it console."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from kefu.bot.flows import FlowDefinition, Texts
from kefu.bot.texts import MAX_CHARS, TextKey, check_text
from kefu.core.schemas import VISIBLE, Id, PatchModel, ReadModel, StrictModel
from kefu.nlp.retrieval import ANSWER_MIN_SCORE

IntentName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
FlowName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), VISIBLE]
Example = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), VISIBLE]
MAX_EXAMPLES = 500


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Examples = Annotated[list[Example], Field(max_length=MAX_EXAMPLES), AfterValidator(_unique)]
Words = Annotated[list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]],
                  Field(max_length=100), AfterValidator(_unique)]  # fmt: skip


FAQ_IDS_HELP = (
    "FAQ entries asking the same thing: while the intent has fewer than 5 examples, their published questions "
    "and variants are training examples too"
)
FaqIds = Annotated[list[Id], Field(max_length=50)]


class IntentCreate(StrictModel):
    name: IntentName = Field(description="lower-case id, e.g. order_status")
    description: str = Field("", max_length=1000)
    examples: Examples = Field(default_factory=list, description="zh and en example messages")
    handoff: bool = False
    flow_id: Id | None = None
    reply: Texts = Field(default_factory=dict, description='canned answer, e.g. {"zh": "您好！", "en": "Hello!"}')
    faq_ids: FaqIds = Field(default_factory=list, description=FAQ_IDS_HELP)


class IntentUpdate(PatchModel):
    NULLABLE = frozenset({"flow_id"})  # null: no flow
    name: IntentName | None = None
    description: str | None = Field(None, max_length=1000)
    examples: Examples | None = None
    handoff: bool | None = None
    flow_id: Id | None = None
    reply: Texts | None = None
    faq_ids: FaqIds | None = Field(None, description=FAQ_IDS_HELP)


class ExamplesIn(StrictModel):
    examples: Annotated[list[Example], Field(min_length=1, max_length=MAX_EXAMPLES)]


class IntentRead(ReadModel):
    id: int
    name: str
    description: str
    examples: list[str]
    handoff: bool
    flow_id: int | None
    reply: dict[str, str]
    faq_ids: list[int]
    created_at: datetime
    updated_at: datetime


class FlowCreate(StrictModel):
    name: FlowName
    definition: FlowDefinition
    enabled: bool = True


class FlowUpdate(PatchModel):
    name: FlowName | None = None
    definition: FlowDefinition | None = None
    enabled: bool | None = None


class FlowRead(ReadModel):
    id: int
    name: str
    definition: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class HandoffRulesIn(StrictModel):
    keywords: Words = Field(default_factory=list, description="extra words that ask for a human")
    anger: bool = True
    oos_twice: bool = True
    low_confidence: bool = False
    vip_tiers: Words = Field(default_factory=list, description="contact tiers handed to a human at once")


class BotSettingsIn(StrictModel):
    answer_min_score: float = Field(ANSWER_MIN_SCORE, ge=0, le=1, description="cosine a knowledge answer needs")
    clarify_margin: float = Field(0.015, ge=0, le=0.5, description="answers this close to the best → clarify")
    calibrated_answers: bool = Field(
        True,
        description="an answer must also stand out from the rest of the knowledge base as much as most of its "
        "own question variants do (the knowledge base's answer floor; docs/knowledge.md)",
    )
    oos_threshold: float | None = Field(None, ge=0, le=1, description="intent confidence below = out of scope")
    handoff: HandoffRulesIn = Field(default_factory=HandoffRulesIn)
    greeting: Texts = Field(default_factory=dict)


class BotSettingsRead(BotSettingsIn):
    pass


class ModelRead(ReadModel):
    id: int
    version: int
    metrics: dict[str, Any]
    trained_at: datetime
    active: bool


class TrainingRead(ReadModel):
    """One training of the intent model: `kind` quick (the ensemble, right after an edit) or finetune (the
    fine-tuned copy after it); `state` queued | training | ready | replaced | dropped | cancelled | failed;
    `progress` 0–1; `detail`: seconds taken and, for a fine-tuning, both accuracies on the calibration slice."""

    id: int
    kind: str
    state: str
    progress: float
    stage: str
    model_id: int | None
    detail: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class IntentReportRead(BaseModel):
    """What the active model knows about its own examples (leave-one-out, or 5-fold above 200 examples)."""

    model_id: int
    version: int
    method: str
    intents: list[dict[str, Any]]
    confusions: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]


class TrainQueued(BaseModel):
    job_id: str
    queued: bool


class TryIn(StrictModel):
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000), VISIBLE]
    conversation_state: dict[str, Any] | None = Field(None, description='bot_state, default {"active": true}')
    contact_tier: str = Field("normal", max_length=20)


class TryOut(BaseModel):
    language: str
    normalised: str
    intent: dict[str, Any]
    entities: list[dict[str, Any]]
    sentiment: dict[str, Any]
    answers: list[dict[str, Any]]
    decision: dict[str, Any]
    state: dict[str, Any]
    flow: dict[str, Any] | None = None
    timings_ms: dict[str, float]


SlotValue = Annotated[str, StringConstraints(max_length=500)]


class ActionTestIn(StrictModel):
    definition: FlowDefinition = Field(description="a flow definition (need not be saved) with an HTTP action")
    slots: dict[str, SlotValue] = Field(
        default_factory=dict, description='a sample value for every slot of the flow, e.g. {"order_id": "KF…"}'
    )


class ActionTestOut(BaseModel):
    ok: bool = Field(description="the action answered 2xx with JSON")
    status: int | None = Field(description="the HTTP status, when the server answered")
    error: str | None = Field(
        description="what went wrong: timeout, denied (address refused by the outbound policy), failed, "
        "too_large, not_found (404), http_<status>, bad_json"
    )
    message: str = Field(description="the error in English, for logs")
    url: str = Field(description="the URL called, slot values filled in")
    json_text: str | None = Field(description="the JSON answered, indented, cut at 4,000 characters")
    truncated: bool
    reply: dict[str, str] | None = Field(
        description='the customer\'s reply rendered from the answer, {"zh", "en"}; null: the bot would hand off'
    )


# ---- the bot's texts (kefu.bot.texts) ---------------------------------------------------------------


def _storable_text(text: str) -> str:
    problem = check_text(text)
    if problem is not None:
        raise ValueError(problem)
    return text


class BotTextIn(StrictModel):
    key: TextKey
    locale: Literal["zh_CN", "zh_TW", "en"]
    text: Annotated[str, Field(max_length=MAX_CHARS), AfterValidator(_storable_text)] = Field(
        description="the account's wording; empty: the default. `{when}` is replaced where the default has it"
    )


class BotTextsUpdate(StrictModel):
    texts: list[BotTextIn] = Field(max_length=len(TextKey) * 3)


class BotTextRead(BaseModel):
    key: TextKey
    locale: str
    purpose: str = Field(description="when the bot says it (English)")
    default: str = Field(description="the default from the translations")
    text: str = Field(description="the account's wording; empty: the default is said")


class BotTextsRead(BaseModel):
    items: list[BotTextRead]
