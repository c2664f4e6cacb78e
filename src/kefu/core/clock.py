"""The only source of "now": always timezone-aware UTC. Tests may freeze it."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Freeze the clock at `at` (aware), or unfreeze with None. For tests and simulations."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("clock.freeze needs an aware datetime")
    _frozen = at


def ensure_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
