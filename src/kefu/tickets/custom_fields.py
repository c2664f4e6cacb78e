"""Custom field values checked against the account's definitions — pure, no database (docs/tickets.md).

`check_values(definitions, current, changes, creating=...)` returns the ticket's new `custom_fields`: the
stored values with `changes` applied (None removes a value). It refuses, with one message per problem, a
key no definition has, a value of the wrong type (text: a string of at most 2,000 characters; number: a JSON
number, not a boolean; select: one of the options; date: YYYY-MM-DD), and a required field left empty —
on creation when it is missing, on an update when it is cleared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kefu.core.errors import Unprocessable

MAX_TEXT = 2000


@dataclass(frozen=True)
class FieldDef:
    key: str
    type: str  # text | number | select | date
    options: tuple[str, ...] = ()
    required: bool = False


def _problem(field: FieldDef, value: Any) -> str | None:
    if field.type == "text":
        if not isinstance(value, str):
            return "must be text"
        return f"must be at most {MAX_TEXT} characters" if len(value) > MAX_TEXT else None
    if field.type == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if field.type == "select":
        return None if value in field.options else f"must be one of: {', '.join(field.options)}"
    if field.type == "date":
        return None if _is_date(value) else "must be a date (YYYY-MM-DD)"
    return f"has an unknown type {field.type}"


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_values(
    definitions: Sequence[FieldDef],
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    creating: bool,
) -> dict[str, Any]:
    by_key = {d.key: d for d in definitions}
    problems: list[dict[str, str]] = []
    merged = dict(current)
    for key, value in changes.items():
        field = by_key.get(key)
        if field is None:
            problems.append({"field": f"custom_fields.{key}", "message": "no custom field has this key"})
            continue
        if _empty(value):
            merged.pop(key, None)
            continue
        problem = _problem(field, value)
        if problem:
            problems.append({"field": f"custom_fields.{key}", "message": problem})
        else:
            merged[key] = value
    for field in definitions:
        if field.required and _empty(merged.get(field.key)) and (creating or field.key in changes):
            problems.append({"field": f"custom_fields.{field.key}", "message": "is required"})
    if problems:
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise Unprocessable(f"custom fields: {summary}", details=problems)
    return merged
