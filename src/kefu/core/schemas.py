"""Shared Pydantic pieces: the bounded types every request field is built from (docs/api.md "Input rules").

- ids and counts fit the 64-bit integer columns they are compared with (`Id`, `AfterId`);
- datetimes are converted to UTC while validating, so one that cannot be (year 9999 at -12:00) is a 422;
- text never holds NUL (PostgreSQL cannot store it) and required text has something visible in it;
- request bodies nest at most `MAX_JSON_DEPTH` deep;
- a partial update (`PatchModel`) may leave a field out, but sends null only where null means something.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

MAX_ID = 2**63 - 1  # BIGINT / SQLite INTEGER
MAX_JSON_DEPTH = 32


class _Below2To63:
    """Documents `maximum: 2^63-1` as `exclusiveMaximum: 2^63`: the same integers, but a bound that is exact
    as a float too, so tools that compare JSON numbers as floats (schemathesis) agree with us about 2^63+191."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        if out.pop("maximum", None) == MAX_ID:
            out["exclusiveMaximum"] = MAX_ID + 1
        return out


Id = Annotated[int, Ge(1), Le(MAX_ID), _Below2To63()]
"""A row id (path, query or body): 1 … 2^63-1; anything else is a 422 before the database is asked."""
AfterId = Annotated[int, Ge(0), Le(MAX_ID), _Below2To63()]
"""An id to continue after (0 = from the start)."""
Version = Annotated[int, Ge(1), Le(2**31 - 1)]

# Characters that show nothing on their own: Unicode categories Cc, Cf, Zs, Zl and Zp (Unicode 14/15).
# `visible_text` decides with unicodedata; this class is its description in the OpenAPI document
# (tests/core/test_schemas.py checks the two agree).
INVISIBLE = (
    r"\x00-\x20\x7f-\xa0\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u1680\u180e\u2000-\u200f"
    r"\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    r"\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
VISIBLE_PATTERN = rf"^[^\x00]*[^{INVISIBLE}][^\x00]*$"
NO_NUL_PATTERN = r"^[^\x00]*$"
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def has_visible(text: str) -> bool:
    """After NFKC, is there a character that is not a control, format or space character?"""
    return any(unicodedata.category(c) not in _INVISIBLE_CATEGORIES for c in unicodedata.normalize("NFKC", text))


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def visible_text(value: str) -> str:
    no_nul(value)
    if not has_visible(value):
        raise ValueError("must contain visible text (not only spaces, control or zero-width characters)")
    return value


class TextRule:
    """A check on a string that the OpenAPI document describes as a pattern. The check, not the pattern,
    decides (so the 422 says what is wrong in words)."""

    def __init__(self, check: Callable[[str], str], pattern: str) -> None:
        self.check = check
        self.pattern = pattern

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out["pattern"] = self.pattern
        return out


VISIBLE = TextRule(visible_text, VISIBLE_PATTERN)
"""Required text: something visible in it (after NFKC, not only Cc/Cf/Z* characters), no NUL."""
NO_NUL = TextRule(no_nul, NO_NUL_PATTERN)
"""Any text without NUL (it may be empty)."""


def _stripped(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


Name = Annotated[str, _stripped(200), VISIBLE]
ShortName = Annotated[str, _stripped(100), VISIBLE]
Label = Annotated[str, _stripped(64), VISIBLE]


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range (it cannot be expressed in UTC)") from None


UtcDateTime = Annotated[datetime, AfterValidator(to_utc)]
"""A date-time, converted to UTC while validating (no offset = UTC)."""


def check_json(value: Any) -> Any:
    """Refuse NUL anywhere in a value (keys, strings, nested models) and nesting deeper than MAX_JSON_DEPTH;
    walked without recursion, so a hostile value cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("must not contain NUL characters")
            continue
        if isinstance(item, BaseModel):
            item = item.__dict__
        elif not isinstance(item, dict | list | tuple):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        else:
            stack.extend((v, depth + 1) for v in item)
    return value


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# JSON types that pydantic would otherwise coerce into a field's type ("1" → 1, 0 → false, 5 → a datetime).
# Floats still take numeric strings (the bot settings form posts its thresholds as text), never booleans.
_NOT_COERCED: dict[type, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "must be true or false"),
    int: ((int, float), "must be a number"),  # 1.0 is a JSON integer; pydantic refuses 1.5 itself
    float: ((int, float, str), "must be a number"),
    datetime: ((str,), "must be a date-time string"),
}


def _json_kind(annotation: Any) -> type | None:
    """bool, int, float or datetime when a field (or each item of a list field) must be of that JSON type."""
    if get_origin(annotation) is Annotated:
        return _json_kind(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        kinds = {_json_kind(a) for a in get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if get_origin(annotation) is list:
        return _json_kind(get_args(annotation)[0])
    return annotation if annotation in _NOT_COERCED else None


def check_json_type(kind: type, value: Any) -> None:
    allowed, message = _NOT_COERCED[kind]
    for item in value if isinstance(value, list) else [value]:
        if item is not None and (not isinstance(item, allowed) or (kind is not bool and isinstance(item, bool))):
            raise ValueError(message)


class StrictModel(BaseModel):
    """A request body: unknown fields are refused; so are NUL in any string and JSON nested deeper than
    MAX_JSON_DEPTH, in every field however nested; and a value of another JSON type than the field's
    ("1" for a number, 0 for a boolean) is refused rather than converted."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        kind = _json_kind(cls.model_fields[info.field_name].annotation) if info.field_name else None
        if kind is not None:
            check_json_type(kind, value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _json_rules(cls, value: Any) -> Any:
        return check_json(value)


def _not_nullable_in_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    nullable: frozenset[str] = getattr(model, "NULLABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in nullable or "anyOf" not in prop:
            continue
        branches = [b for b in prop["anyOf"] if b != {"type": "null"}]
        del prop["anyOf"]
        if len(branches) == 1:
            prop.update(branches[0])
        else:
            prop["anyOf"] = branches
        if prop.get("default", 0) is None:
            del prop["default"]


class PatchModel(StrictModel):
    """A partial update: a field left out stays as it is. Null is refused (422) except for the fields in
    NULLABLE, where it clears the value — and the OpenAPI document says so."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    model_config = ConfigDict(json_schema_extra=_not_nullable_in_schema)

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may be left out, but not null")
        return value


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
