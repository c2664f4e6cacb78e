"""The shared request types: what they refuse, and that the OpenAPI document describes exactly that."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kefu.core.pagination import ID_CURSOR, TIME_CURSOR, Cursor
from kefu.core.schemas import INVISIBLE, NO_NUL_PATTERN, VISIBLE_PATTERN, Id, PatchModel, has_visible


def test_the_documented_invisible_class_is_the_validators_rule() -> None:
    """Every Cc/Cf/Z* character of this Python's Unicode is in the pattern's class; anything else the
    class holds is unassigned here (a newer Unicode version's format characters)."""
    in_class = re.compile(f"[{INVISIBLE}]")
    for cp in range(0x110000):
        c = chr(cp)
        category = unicodedata.category(c)
        if category in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            assert in_class.match(c), f"U+{cp:04X} ({category}) is missing from INVISIBLE"
        elif in_class.match(c):
            assert category == "Cn", f"U+{cp:04X} ({category}) is visible but in INVISIBLE"


@pytest.mark.parametrize(
    "text",
    ["a", " a ", "\u200b好", "\u3000", "\u200b\u200d", "\x07", "", " \t\n", "\ufeff", "\U000e0041", "\u0301", "ｆ"],
)
def test_has_visible_matches_the_pattern(text: str) -> None:
    assert has_visible(text) == bool(re.fullmatch(VISIBLE_PATTERN, text))
    assert re.fullmatch(NO_NUL_PATTERN, text)
    assert not re.fullmatch(VISIBLE_PATTERN, text + "\x00")


def test_patch_models_refuse_null_unless_nullable() -> None:
    class Change(PatchModel):
        NULLABLE = frozenset({"team_id"})
        name: str | None = None
        team_id: Id | None = None

    assert Change.model_validate({}).model_fields_set == set()
    assert Change.model_validate({"team_id": None}).model_fields_set == {"team_id"}
    with pytest.raises(ValidationError) as exc:
        Change.model_validate({"name": None})
    assert [(e["loc"], e["msg"]) for e in exc.value.errors()] == [
        (("name",), "Value error, may be left out, but not null")
    ]
    props = Change.model_json_schema()["properties"]
    assert props["name"] == {"title": "Name", "type": "string"}
    assert props["team_id"]["anyOf"][1] == {"type": "null"}
    assert props["team_id"]["anyOf"][0] == {"exclusiveMaximum": 2**63, "minimum": 1, "type": "integer"}


def test_cursors_are_exactly_their_patterns() -> None:
    by_id = Cursor(9_223_372)
    by_time = Cursor(42, datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    assert by_id.encode() == "9223372" and re.fullmatch(ID_CURSOR, by_id.encode())
    assert re.fullmatch(TIME_CURSOR, by_time.encode())
    assert Cursor.decode(by_id.encode()) == by_id
    assert Cursor.decode(by_time.encode()) == by_time
    assert Cursor.decode("0_1") == Cursor(1, datetime(1970, 1, 1, tzinfo=UTC))
    assert Cursor.decode("9999999999999999_999999999999999999") is not None  # the largest the pattern allows
