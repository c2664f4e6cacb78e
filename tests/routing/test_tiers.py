"""Tier scoring (routing/tiers.py) on exact inputs: each dimension, its thresholds, the segment order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from kefu.core.constants import ContactSegment
from kefu.routing.tiers import TierConfig, TierInputs, score

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CFG = TierConfig()


def _days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


def test_a_new_contact_with_nothing_known_is_potential() -> None:
    got = score(TierInputs(), CFG, NOW)
    assert (got.segment, got.churn_risk, got.reasons) == (ContactSegment.POTENTIAL, False, ["value_none", "stage_new"])


@pytest.mark.parametrize(
    ("revenue", "segment", "reason"),
    [
        (10000, ContactSegment.STRATEGIC, "value_high:10000"),
        ("25000.5", ContactSegment.STRATEGIC, "value_high:25000.5"),
        (9999.9, ContactSegment.VALUE, "value_mid:9999.9"),
        (1000, ContactSegment.VALUE, "value_mid:1000"),
        (999, ContactSegment.POTENTIAL, "value_low:999"),
        ("lots", ContactSegment.POTENTIAL, "value_none"),
        (True, ContactSegment.POTENTIAL, "value_none"),
    ],
)
def test_value_thresholds(revenue: object, segment: ContactSegment, reason: str) -> None:
    inputs = TierInputs(attributes={"revenue": revenue}, first_contact_at=_days_ago(40), last_contact_at=_days_ago(1))
    got = score(inputs, CFG, NOW)
    assert (got.segment, got.reasons) == (segment, [reason, "stage_mature"])


def test_lifecycle_stages() -> None:
    assert score(TierInputs(attributes={"plan": "trial"}), CFG, NOW).reasons == ["value_none", "stage_trial"]
    first29 = TierInputs(first_contact_at=_days_ago(29), last_contact_at=_days_ago(0))
    assert score(first29, CFG, NOW).reasons == ["value_none", "stage_new"]
    first30 = TierInputs(first_contact_at=_days_ago(30), last_contact_at=_days_ago(0))
    assert score(first30, CFG, NOW).reasons == ["value_none", "stage_mature"]
    idle89 = TierInputs(first_contact_at=_days_ago(200), last_contact_at=_days_ago(89))
    assert (score(idle89, CFG, NOW).reasons[-1], score(idle89, CFG, NOW).churn_risk) == ("stage_mature", False)
    idle90 = TierInputs(first_contact_at=_days_ago(200), last_contact_at=_days_ago(90))
    assert (score(idle90, CFG, NOW).reasons[-1], score(idle90, CFG, NOW).churn_risk) == ("stage_at_risk:90", True)


def test_an_idle_valuable_customer_is_churn_risk_and_an_idle_low_value_one_only_flagged() -> None:
    rich = TierInputs(attributes={"revenue": 50000}, first_contact_at=_days_ago(400), last_contact_at=_days_ago(120))
    got = score(rich, CFG, NOW)
    assert (got.segment, got.churn_risk, got.reasons) == (
        ContactSegment.CHURN_RISK,
        True,
        ["value_high:50000", "stage_at_risk:120"],
    )
    poor = TierInputs(attributes={"revenue": 10}, first_contact_at=_days_ago(400), last_contact_at=_days_ago(120))
    got = score(poor, CFG, NOW)
    assert (got.segment, got.churn_risk) == (ContactSegment.POTENTIAL, True)


def test_complex_needs_and_escalations() -> None:
    inputs = TierInputs(
        attributes={"revenue": 2000},
        conversations=2,
        customer_messages=16,
        escalations=2,
        channels=frozenset({"web_widget"}),
        first_contact_at=_days_ago(60),
        last_contact_at=_days_ago(2),
    )
    got = score(inputs, CFG, NOW)
    assert (got.segment, got.churn_risk) == (ContactSegment.CHURN_RISK, True)
    assert got.reasons == ["value_mid:2000", "many_turns:8", "escalations:2", "channel:web_widget", "stage_mature"]
    calmer = TierInputs(attributes={"revenue": 2000}, conversations=2, customer_messages=15, escalations=1)
    got = score(calmer, CFG, NOW)
    assert (got.segment, got.churn_risk, got.reasons) == (ContactSegment.VALUE, False, ["value_mid:2000", "stage_new"])


def test_a_mature_multichannel_customer_is_value() -> None:
    inputs = TierInputs(
        channels=frozenset({"email", "web_widget"}), first_contact_at=_days_ago(100), last_contact_at=_days_ago(3)
    )
    got = score(inputs, CFG, NOW)
    assert (got.segment, got.reasons) == (
        ContactSegment.VALUE,
        ["value_none", "multichannel:email,web_widget", "stage_mature"],
    )
    young = TierInputs(channels=frozenset({"email", "web_widget"}), first_contact_at=_days_ago(3))
    assert score(young, CFG, NOW).segment == ContactSegment.POTENTIAL


def test_per_account_thresholds() -> None:
    cfg = TierConfig.model_validate({"value_attribute": "ltv", "high_value": 500, "mid_value": 100, "at_risk_days": 10})
    inputs = TierInputs(attributes={"ltv": 600}, first_contact_at=_days_ago(50), last_contact_at=_days_ago(11))
    got = score(inputs, cfg, NOW)
    assert (got.segment, got.reasons) == (ContactSegment.CHURN_RISK, ["value_high:600", "stage_at_risk:11"])
    with pytest.raises(ValidationError, match="mid_value must not be above high_value"):
        TierConfig.model_validate({"high_value": 10, "mid_value": 20})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        TierConfig.model_validate({"vip_level": 3})
