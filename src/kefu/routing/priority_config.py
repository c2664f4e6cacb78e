"""The per-account priority configuration (Account.settings["priority"]): the urgency × importance matrix,
what makes a message urgent and a customer important (docs/staffing.md, "Priority").

Defaults (chosen for customer service, where a routine question from anyone still needs an answer):
urgent and important → P1; urgent only → P2; important only → P2; neither → P3 (the default priority of
every new conversation). P4 is left for accounts that want to push routine contacts further down.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.core.constants import ContactTier, Priority

SETTINGS_KEY = "priority"
SEGMENTS = ("strategic", "value", "potential", "churn_risk")

DEFAULT_KEYWORDS = [
    "退款失败",
    "支付失败",
    "付款失败",
    "扣款失败",
    "重复扣款",
    "无法支付",
    "无法登录",
    "登录不了",
    "宕机",
    "故障",
    "打不开",
    "被盗",
    "payment failed",
    "refund failed",
    "charged twice",
    "outage",
    "cannot log in",
    "can't log in",
    "account hacked",
    "is down",
]


class Matrix(BaseModel):
    """The priority of each cell of the 紧急/重要 matrix."""

    model_config = ConfigDict(extra="forbid")

    urgent_important: Priority = Priority.P1
    urgent: Priority = Priority.P2
    important: Priority = Priority.P2
    routine: Priority = Priority.P3


class UrgencyRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_KEYWORDS), max_length=200)
    intents: list[str] = Field(default_factory=list, max_length=200)
    anger: bool = True  # the NLP engine's anger flag makes a message urgent
    urgency: bool = True  # the NLP engine's urgency flag makes a message urgent

    @field_validator("keywords", "intents")
    @classmethod
    def _clean(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for raw in values:
            value = raw.strip()
            if not value:
                continue
            if len(value) > 64:
                raise ValueError(f"{value[:20]}…: at most 64 characters")
            if value not in out:
                out.append(value)
        return out


class ImportanceRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tiers: list[ContactTier] = Field(default_factory=lambda: [ContactTier.VIP, ContactTier.GOLD])
    segments: list[str] = Field(default_factory=lambda: ["strategic", "value"])
    value_attribute: str = Field("value", min_length=1, max_length=64)
    value_threshold: float | None = Field(10000.0, ge=0)

    @field_validator("segments")
    @classmethod
    def _segments(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in SEGMENTS]
        if unknown:
            raise ValueError(f"unknown segment {unknown[0]!r}: one of {', '.join(SEGMENTS)}")
        return list(dict.fromkeys(values))


class PriorityConfig(BaseModel):
    """GET/PUT /api/v1/routing/priority. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    matrix: Matrix = Field(default_factory=Matrix)
    urgency: UrgencyRules = Field(default_factory=UrgencyRules)
    importance: ImportanceRules = Field(default_factory=ImportanceRules)


def config_of(settings: dict[str, object] | None) -> PriorityConfig:
    """The account's configuration, or the defaults (a stored value that no longer validates too)."""
    raw = (settings or {}).get(SETTINGS_KEY)
    if not isinstance(raw, dict):
        return PriorityConfig()
    try:
        return PriorityConfig.model_validate(raw)
    except ValueError:
        return PriorityConfig()
