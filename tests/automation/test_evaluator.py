"""The pure evaluator (automation/evaluator.py) on exact inputs: every operator, all/any, missing fields,
validation messages and reply placeholders."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.automation.evaluator import Condition, check, condition_error, matches, raised, render

CTX: dict[str, Any] = {
    "conversation.priority": "p2",
    "conversation.labels": ["vip", "refund"],
    "conversation.inbox_id": 7,
    "conversation.team_id": None,
    "contact.churn_risk": True,
    "contact.name": "王小明",
    "message.content": "My ORDER failed to pay",
}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("conversation.priority", "eq", "p2", True),
        ("conversation.priority", "eq", "p1", False),
        ("conversation.priority", "ne", "p1", True),
        ("conversation.priority", "ne", "p2", False),
        ("conversation.priority", "in", ["p1", "p2"], True),
        ("conversation.priority", "in", ["p3"], False),
        ("conversation.priority", "not_in", ["p3", "p4"], True),
        ("conversation.priority", "not_in", ["p2"], False),
        ("conversation.labels", "in", ["refund", "x"], True),
        ("conversation.labels", "in", ["x"], False),
        ("conversation.labels", "not_in", ["x"], True),
        ("conversation.labels", "not_in", ["vip"], False),
        ("conversation.labels", "contains", "vip", True),
        ("conversation.labels", "contains", "VIP", False),
        ("message.content", "contains", "order", True),
        ("message.content", "contains", "refund", False),
        ("conversation.inbox_id", "gt", 6, True),
        ("conversation.inbox_id", "gt", 7, False),
        ("conversation.inbox_id", "gte", 7, True),
        ("conversation.inbox_id", "gte", 8, False),
        ("conversation.inbox_id", "lt", 8, True),
        ("conversation.inbox_id", "lt", 7, False),
        ("conversation.inbox_id", "lte", 7, True),
        ("conversation.inbox_id", "lte", 6, False),
        ("conversation.priority", "gt", 1, False),  # text is never ordered
        ("contact.churn_risk", "gt", 0, False),  # a boolean is not a number
        ("contact.churn_risk", "eq", True, True),
        ("conversation.inbox_id", "exists", True, True),
        ("conversation.inbox_id", "exists", False, False),
        # missing: absent or None
        ("conversation.team_id", "exists", True, False),
        ("conversation.team_id", "exists", False, True),
        ("sla.metric", "exists", False, True),
        ("sla.metric", "eq", "first_response", False),
        ("sla.metric", "ne", "first_response", True),
        ("sla.metric", "in", ["first_response"], False),
        ("sla.metric", "not_in", ["first_response"], True),
        ("sla.metric", "contains", "first", False),
        ("conversation.team_id", "gt", 0, False),
        ("conversation.team_id", "lte", 0, False),
    ],
)
def test_check_every_operator(field: str, op: str, value: Any, expected: bool) -> None:
    assert check(Condition(field, op, value), CTX) is expected


def test_all_and_any() -> None:
    yes = Condition("conversation.priority", "eq", "p2")
    no = Condition("contact.churn_risk", "eq", False)
    assert matches("all", [yes, yes], CTX) is True
    assert matches("all", [yes, no], CTX) is False
    assert matches("any", [no, yes], CTX) is True
    assert matches("any", [no, no], CTX) is False
    assert matches("all", [], CTX) is True
    assert matches("any", [], CTX) is True


@pytest.mark.parametrize(
    ("cond", "error"),
    [
        (Condition("conversation.priority", "eq", "p1"), None),
        (Condition("conversation.labels", "contains", "vip"), None),
        (Condition("conversation.inbox_id", "gte", 3), None),
        (Condition("sla.metric", "exists", True), None),
        (Condition("contact.tier", "in", ["vip", "gold"]), None),
        (Condition("contact.shoe_size", "eq", 42), "unknown field 'contact.shoe_size'; known fields: "),
        (Condition("contact.tier", "like", "v%"), "unknown operator 'like'; known operators: eq, ne, in, not_in"),
        (Condition("contact.tier", "in", "vip"), "contact.tier in: the value must be a non-empty list of values"),
        (Condition("contact.tier", "not_in", []), "contact.tier not_in: the value must be a non-empty list of values"),
        (Condition("contact.tier", "gt", 3), "contact.tier gt: needs a number field and a number value"),
        (Condition("conversation.inbox_id", "lt", "3"), "conversation.inbox_id lt: needs a number field and a number"),
        (Condition("contact.tier", "exists", "yes"), "contact.tier exists: the value must be true or false"),
        (Condition("contact.churn_risk", "contains", "x"), "contact.churn_risk contains: only text and list fields"),
        (Condition("contact.tier", "eq", ["vip"]), "contact.tier eq: the value must be text, a number or a boolean"),
    ],
)
def test_condition_errors(cond: Condition, error: str | None) -> None:
    got = condition_error(cond)
    if error is None:
        assert got is None
    else:
        assert got is not None and got.startswith(error), got


def test_render_replaces_only_known_placeholders() -> None:
    text = (
        "您好 {{contact.name}}，标签：{{ conversation.labels }}，{{sla.metric}}。{{__import__('os')}} {{contact.x}} {x}"
    )
    assert render(text, CTX) == "您好 王小明，标签：vip, refund，。{{__import__('os')}} {{contact.x}} {x}"


@pytest.mark.parametrize(("before", "after"), [("p4", "p3"), ("p3", "p2"), ("p2", "p1"), ("p1", "p1"), ("px", "p3")])
def test_raised(before: str, after: str) -> None:
    assert raised(before) == after
