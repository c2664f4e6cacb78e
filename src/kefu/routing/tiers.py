"""Customer tiers: the pure scoring of a contact on four dimensions into a segment (docs/automation.md).

No I/O and no clock: `tier_service` gathers a contact's `TierInputs` and passes "now".

Dimensions and their thresholds (`TierConfig`, the defaults below; an account overrides any of them in
`Account.settings["tiers"]`):
1. value — the contact's attribute `value_attribute` (default "revenue", a number):
   >= `high_value` (10000) is high, >= `mid_value` (1000) is mid, anything else (or none) is low;
2. need complexity — average customer messages per conversation >= `complex_turns` (8), or escalations
   (bot handoffs and transfers) >= `complex_escalations` (2), is complex;
3. channel preference — the channels used; >= `multichannel` (2) different ones is multichannel;
4. lifecycle stage — `trial` when the attribute `stage_attribute` (default "plan") is one of
   `trial_values` (["trial"]); else `at_risk` when the last contact is `at_risk_days` (90) or more ago;
   else `new` when the first contact is less than `new_days` (30) ago; else `mature`.

Churn risk (the flag): the stage is at_risk, or escalations >= `complex_escalations` with complex needs.
Segment, first that applies:
1. churn_risk — the churn-risk flag is set and the value is not low (a customer worth keeping);
2. strategic — high value;
3. value — mid value, or a mature multichannel customer;
4. potential — everyone else (trial, new, low value).

`reasons` lists what decided it as `code` or `code:detail` (e.g. `value_high:12000`, `stage_at_risk:120`),
in dimension order; the UI translates the codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kefu.core.constants import ContactSegment


class TierConfig(BaseModel):
    """The thresholds; `Account.settings["tiers"]` holds any of them (unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid")

    value_attribute: str = Field("revenue", min_length=1, max_length=64)
    high_value: float = Field(10000, ge=0)
    mid_value: float = Field(1000, ge=0)
    complex_turns: float = Field(8, gt=0)
    complex_escalations: int = Field(2, ge=1)
    multichannel: int = Field(2, ge=2)
    new_days: int = Field(30, ge=1)
    at_risk_days: int = Field(90, ge=1)
    stage_attribute: str = Field("plan", min_length=1, max_length=64)
    trial_values: list[str] = Field(default_factory=lambda: ["trial"], max_length=20)

    @model_validator(mode="after")
    def _ordered(self) -> TierConfig:
        if self.mid_value > self.high_value:
            raise ValueError("mid_value must not be above high_value")
        return self


@dataclass(frozen=True)
class TierInputs:
    attributes: dict[str, object] = field(default_factory=dict)
    conversations: int = 0
    customer_messages: int = 0
    escalations: int = 0
    channels: frozenset[str] = frozenset()
    first_contact_at: datetime | None = None
    last_contact_at: datetime | None = None


@dataclass(frozen=True)
class TierScore:
    segment: ContactSegment
    churn_risk: bool
    reasons: list[str]


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:.1f}"


def value_level(inputs: TierInputs, cfg: TierConfig) -> tuple[str, str]:
    amount = _number(inputs.attributes.get(cfg.value_attribute))
    if amount is None:
        return "low", "value_none"
    level = "high" if amount >= cfg.high_value else "mid" if amount >= cfg.mid_value else "low"
    return level, f"value_{level}:{_fmt(amount)}"


def complexity(inputs: TierInputs, cfg: TierConfig) -> tuple[bool, list[str]]:
    reasons = []
    turns = inputs.customer_messages / inputs.conversations if inputs.conversations else 0.0
    if turns >= cfg.complex_turns:
        reasons.append(f"many_turns:{_fmt(turns)}")
    if inputs.escalations >= cfg.complex_escalations:
        reasons.append(f"escalations:{inputs.escalations}")
    return bool(reasons), reasons


def channel_preference(inputs: TierInputs, cfg: TierConfig) -> tuple[bool, str | None]:
    if not inputs.channels:
        return False, None
    names = ",".join(sorted(inputs.channels))
    if len(inputs.channels) >= cfg.multichannel:
        return True, f"multichannel:{names}"
    return False, f"channel:{names}"


def lifecycle(inputs: TierInputs, cfg: TierConfig, now: datetime) -> tuple[str, str]:
    stage = inputs.attributes.get(cfg.stage_attribute)
    if isinstance(stage, str) and stage in cfg.trial_values:
        return "trial", "stage_trial"
    if inputs.last_contact_at is not None:
        idle = (now - inputs.last_contact_at).days
        if idle >= cfg.at_risk_days:
            return "at_risk", f"stage_at_risk:{idle}"
    if inputs.first_contact_at is None or (now - inputs.first_contact_at).days < cfg.new_days:
        return "new", "stage_new"
    return "mature", "stage_mature"


def score(inputs: TierInputs, cfg: TierConfig, now: datetime) -> TierScore:
    """The contact's segment, churn-risk flag and reasons (the rule order is in the module doc)."""
    value, value_reason = value_level(inputs, cfg)
    is_complex, complex_reasons = complexity(inputs, cfg)
    multichannel, channel_reason = channel_preference(inputs, cfg)
    stage, stage_reason = lifecycle(inputs, cfg, now)
    reasons = [value_reason, *complex_reasons, *([channel_reason] if channel_reason else []), stage_reason]
    churn = stage == "at_risk" or (is_complex and inputs.escalations >= cfg.complex_escalations)
    if churn and value != "low":
        segment = ContactSegment.CHURN_RISK
    elif value == "high":
        segment = ContactSegment.STRATEGIC
    elif value == "mid" or (multichannel and stage == "mature"):
        segment = ContactSegment.VALUE
    else:
        segment = ContactSegment.POTENTIAL
    return TierScore(segment, churn, reasons)
