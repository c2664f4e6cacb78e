"""The rule editor's form ↔ the API's rule body (pure; pages.py renders and posts it).

The form has a fixed number of condition rows (field, op, value) and action rows (type, team, agent,
priority, text); empty rows are left out. A value is read by what its field holds: a list for in/not_in
(comma-separated), a number for number fields, true/false for booleans and `exists`, text otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kefu.automation.evaluator import FIELDS, Kind, Op
from kefu.automation.schemas import ActionType

CONDITION_ROWS = 5
ACTION_ROWS = 4
_TEXT_KEY = {
    ActionType.ADD_LABEL: "label",
    ActionType.SEND_REPLY: "text",
    ActionType.CREATE_TICKET: "subject",
    ActionType.ESCALATE: "text",
    ActionType.NOTIFY: "text",
}


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # refused by the schema with its reason


def _scalar(field: str, text: str) -> Any:
    kind = FIELDS.get(field)
    if kind == Kind.NUMBER:
        return _number(text)
    if kind == Kind.BOOL and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_value(field: str, op: str, text: str) -> Any:
    text = text.strip()
    if op == Op.EXISTS:
        return text.lower() != "false"
    if op in (Op.IN, Op.NOT_IN):
        return [_scalar(field, part.strip()) for part in text.replace("，", ",").split(",") if part.strip()]
    return _scalar(field, text)


def show_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _action(form: Mapping[str, str], i: int) -> dict[str, Any] | None:
    kind = form.get(f"a{i}_type", "").strip()
    if not kind:
        return None
    text = form.get(f"a{i}_text", "").strip()
    team = form.get(f"a{i}_team", "").strip()
    agent = form.get(f"a{i}_agent", "").strip()
    priority = form.get(f"a{i}_priority", "").strip()
    action: dict[str, Any] = {"type": kind}
    if kind == ActionType.ASSIGN_TEAM:
        action["team_id"] = _number(team) if team else None
    elif kind == ActionType.ASSIGN_AGENT:
        action["user_id"] = _number(agent) if agent else None
    elif kind == ActionType.SET_PRIORITY:
        action["priority"] = priority or None
    elif kind == ActionType.NOTIFY:
        action.update(user_ids=[_number(agent)] if agent else [], team_id=_number(team) if team else None)
    elif kind == ActionType.CREATE_TICKET and priority:
        action["priority"] = priority
    key = _TEXT_KEY.get(ActionType(kind)) if kind in set(ActionType) else None
    if key is not None and (text or kind != ActionType.ESCALATE):
        action[key] = text
    return action


def rule_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The API body for a submitted editor form (validated by RuleCreate / RuleUpdate afterwards)."""
    conditions = []
    for i in range(CONDITION_ROWS):
        field = form.get(f"c{i}_field", "").strip()
        if not field:
            continue
        op = form.get(f"c{i}_op", "eq").strip()
        conditions.append({"field": field, "op": op, "value": parse_value(field, op, form.get(f"c{i}_value", ""))})
    actions = [a for i in range(ACTION_ROWS) if (a := _action(form, i)) is not None]
    return {
        "name": form.get("name", "").strip(),
        "event_type": form.get("event_type", "").strip(),
        "match": form.get("match", "all").strip() or "all",
        "conditions": conditions,
        "actions": actions,
        "enabled": form.get("enabled") == "on",
    }


def form_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's field values for a rule (or a body that was refused), to fill the form again."""
    out: dict[str, Any] = {
        "name": body.get("name", ""),
        "event_type": body.get("event_type", ""),
        "match": body.get("match", "all"),
        "enabled": bool(body.get("enabled", True)),
    }
    for i, cond in enumerate(list(body.get("conditions") or [])[:CONDITION_ROWS]):
        out[f"c{i}_field"] = cond.get("field", "")
        out[f"c{i}_op"] = cond.get("op", "eq")
        out[f"c{i}_value"] = show_value(cond.get("value"))
    for i, action in enumerate(list(body.get("actions") or [])[:ACTION_ROWS]):
        kind = str(action.get("type", ""))
        out[f"a{i}_type"] = kind
        out[f"a{i}_team"] = show_value(action.get("team_id"))
        user_ids = action.get("user_ids") or []
        out[f"a{i}_agent"] = show_value(action.get("user_id") or (user_ids[0] if user_ids else None))
        out[f"a{i}_priority"] = show_value(action.get("priority"))
        key = _TEXT_KEY.get(ActionType(kind)) if kind in set(ActionType) else None
        out[f"a{i}_text"] = show_value(action.get(key)) if key else ""
    return out
