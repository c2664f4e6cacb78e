"""The pure rule evaluator: conditions over a flat context, and reply text with placeholders.

No I/O, no `eval()`, no template engine. A rule's context is a flat mapping built from the event
(kefu.automation.context): `conversation.priority`, `contact.tier`, `message.content`, … (`FIELDS`).

Condition semantics (`check`), for a condition {field, op, value}:
- a field that is absent from the context or None is *missing*: `exists` is False, `ne` and `not_in`
  are True (a missing value differs from anything), every other operator is False;
- `eq` / `ne`: equal values (a list field equals only an equal list);
- `in` / `not_in`: the value is a list; a scalar field is in it, a list field has an element in it;
- `contains`: a text field contains the text (case-insensitive), a list field has the element;
- `gt` / `gte` / `lt` / `lte`: numbers only (booleans are not numbers); anything else is False;
- `exists`: the value is a boolean; true when the field is present (not None), false when missing.
`matches`: `all` needs every condition, `any` at least one; no conditions always match.

Reply text (`render`): `{{field}}` placeholders (a field of `FIELDS`, spaces allowed inside the braces) are
replaced by the context's value (empty when missing); anything else in braces stays as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kefu.core.constants import EventType, Priority


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EXISTS = "exists"


class Match(StrEnum):
    ALL = "all"
    ANY = "any"


class Kind(StrEnum):
    """What a context field holds, for validating a condition's value."""

    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    LIST = "list"


FIELDS: Mapping[str, Kind] = {
    "event.type": Kind.TEXT,
    "event.actor_type": Kind.TEXT,
    "conversation.id": Kind.NUMBER,
    "conversation.priority": Kind.TEXT,
    "conversation.previous_priority": Kind.TEXT,
    "conversation.status": Kind.TEXT,
    "conversation.previous_status": Kind.TEXT,
    "conversation.inbox_id": Kind.NUMBER,
    "conversation.team_id": Kind.NUMBER,
    "conversation.assignee_id": Kind.NUMBER,
    "conversation.labels": Kind.LIST,
    "conversation.channel": Kind.TEXT,
    "conversation.subject": Kind.TEXT,
    "conversation.priority_reasons": Kind.LIST,
    "contact.id": Kind.NUMBER,
    "contact.name": Kind.TEXT,
    "contact.email": Kind.TEXT,
    "contact.tier": Kind.TEXT,
    "contact.segment": Kind.TEXT,
    "contact.previous_segment": Kind.TEXT,
    "contact.churn_risk": Kind.BOOL,
    "contact.locale": Kind.TEXT,
    "message.content": Kind.TEXT,
    "message.direction": Kind.TEXT,
    "message.kind": Kind.TEXT,
    "message.sender_type": Kind.TEXT,
    "sla.metric": Kind.TEXT,
    "sla.subject_type": Kind.TEXT,
    "ticket.id": Kind.NUMBER,
    "ticket.status": Kind.TEXT,
    "ticket.previous_status": Kind.TEXT,
    "bot.reason": Kind.TEXT,
    "transfer.reason": Kind.TEXT,
}

# The domain events a rule may subscribe to.
RULE_EVENTS: tuple[str, ...] = tuple(
    str(e)
    for e in (
        EventType.MESSAGE_CREATED,
        EventType.CONVERSATION_CREATED,
        EventType.CONVERSATION_QUEUED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.CONVERSATION_STATUS_CHANGED,
        EventType.CONVERSATION_PRIORITY_CHANGED,
        EventType.CONVERSATION_LABELS_CHANGED,
        EventType.CONVERSATION_TRANSFERRED,
        EventType.SLA_WARNING,
        EventType.SLA_BREACHED,
        EventType.TICKET_CREATED,
        EventType.TICKET_UPDATED,
        EventType.TICKET_STATUS_CHANGED,
        EventType.TICKET_LINKED,
        EventType.CONTACT_TIER_CHANGED,
        EventType.BOT_HANDED_OFF,
    )
)

LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
ORDER_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE})


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None


def _missing(value: Any) -> bool:
    return value is None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _order(op: str, left: Any, right: Any) -> bool:
    if not (_number(left) and _number(right)):
        return False
    if op == Op.GT:
        return bool(left > right)
    if op == Op.GTE:
        return bool(left >= right)
    if op == Op.LT:
        return bool(left < right)
    return bool(left <= right)


def _in(left: Any, right: Any) -> bool:
    if not isinstance(right, list | tuple):
        return False
    if isinstance(left, list | tuple):
        return any(item in right for item in left)
    return left in right


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, list | tuple):
        return right in left
    if isinstance(left, str) and isinstance(right, str):
        return right.casefold() in left.casefold()
    return False


def check(cond: Condition, context: Mapping[str, Any]) -> bool:
    """Whether one condition holds on the context (the semantics are in the module doc)."""
    left = context.get(cond.field)
    op = cond.op
    if op == Op.EXISTS:
        return (not _missing(left)) is bool(cond.value)
    if _missing(left):
        return op in (Op.NE, Op.NOT_IN)
    if op == Op.EQ:
        return bool(left == cond.value)
    if op == Op.NE:
        return bool(left != cond.value)
    if op == Op.IN:
        return _in(left, cond.value)
    if op == Op.NOT_IN:
        return isinstance(cond.value, list | tuple) and not _in(left, cond.value)
    if op == Op.CONTAINS:
        return _contains(left, cond.value)
    if op in ORDER_OPS:
        return _order(op, left, cond.value)
    return False


def matches(match: str, conditions: Sequence[Condition], context: Mapping[str, Any]) -> bool:
    if not conditions:
        return True
    results = (check(c, context) for c in conditions)
    return all(results) if match == Match.ALL else any(results)


def condition_error(cond: Condition) -> str | None:
    """Why a condition cannot be saved (an unknown field or operator, a value that does not fit), or None."""
    kind = FIELDS.get(cond.field)
    if kind is None:
        return f"unknown field {cond.field!r}; known fields: {', '.join(sorted(FIELDS))}"
    if cond.op not in set(Op):
        return f"unknown operator {cond.op!r}; known operators: {', '.join(o.value for o in Op)}"
    value = cond.value
    if cond.op == Op.EXISTS:
        return None if isinstance(value, bool) else f"{cond.field} exists: the value must be true or false"
    if cond.op in LIST_OPS:
        ok = isinstance(value, list) and all(_scalar(v) for v in value) and len(value) > 0
        return None if ok else f"{cond.field} {cond.op}: the value must be a non-empty list of values"
    if cond.op in ORDER_OPS:
        ok = kind == Kind.NUMBER and _number(value)
        return None if ok else f"{cond.field} {cond.op}: needs a number field and a number value"
    if cond.op == Op.CONTAINS and kind not in (Kind.TEXT, Kind.LIST):
        return f"{cond.field} contains: only text and list fields can contain something"
    return None if _scalar(value) else f"{cond.field} {cond.op}: the value must be text, a number or a boolean"


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def render(text: str, context: Mapping[str, Any]) -> str:
    """`text` with its `{{field}}` placeholders replaced from the context (no code runs)."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in FIELDS:
            return m.group(0)
        got = context.get(name)
        if got is None:
            return ""
        if isinstance(got, list | tuple):
            return ", ".join(str(v) for v in got)
        return str(got)

    return _PLACEHOLDER.sub(value, text)


_LADDER = (Priority.P4, Priority.P3, Priority.P2, Priority.P1)


def raised(priority: str) -> str:
    """One step more urgent: p4 → p3 → p2 → p1, p1 stays p1 (an unknown value counts as p4)."""
    try:
        index = _LADDER.index(Priority(priority))
    except ValueError:
        index = 0
    return str(_LADDER[min(index + 1, len(_LADDER) - 1)])
