"""Entity extraction (placeholder while the rules land)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Entity:
    type: str
    value: str
    text: str
    start: int
    end: int


def extract_entities(text: str, *, order_patterns: list[str] | None = None, now: datetime | None = None,
                     tz: str = "Asia/Shanghai") -> list[Entity]:
    return []
