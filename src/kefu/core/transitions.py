"""A status transition table: which status a thing may go to from which, and the 409 when it may not.

Each domain with a lifecycle keeps its one table (conversations/status.py, tickets/states.py) as a
`TransitionTable`; staying in the same status is a no-op, never an error."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Generic, TypeVar

from kefu.core.errors import Conflict

S = TypeVar("S", bound=StrEnum)


class InvalidTransition(Conflict):
    """409: the current status may not change to the asked one; `details` names from, to and the allowed."""

    def __init__(self, noun: str, current: StrEnum, wanted: StrEnum, allowed: list[Any]) -> None:
        super().__init__(
            f"a {current} {noun} cannot become {wanted} (allowed: {', '.join(allowed) or 'none'})",
            details={"from": str(current), "to": str(wanted), "allowed": [str(s) for s in allowed]},
        )


class TransitionTable(Generic[S]):
    def __init__(self, statuses: type[S], table: Mapping[S, frozenset[S]], noun: str) -> None:
        missing = set(statuses) - set(table)
        if missing:
            raise ValueError(f"{noun} transition table lacks {sorted(missing)}")
        self.statuses = statuses
        self.table = table
        self.noun = noun

    def can(self, current: str, wanted: str) -> bool:
        """True if `current` → `wanted` is in the table, or is the same status (a no-op)."""
        return current == wanted or self.statuses(wanted) in self.table[self.statuses(current)]

    def check(self, current: str, wanted: str) -> None:
        if not self.can(current, wanted):
            now, then = self.statuses(current), self.statuses(wanted)
            raise InvalidTransition(self.noun, now, then, self.next(current))

    def next(self, current: str) -> list[S]:
        """The statuses `current` may change to, in the enum's order (what the UI offers)."""
        targets = self.table[self.statuses(current)]
        return [s for s in self.statuses if s in targets]
