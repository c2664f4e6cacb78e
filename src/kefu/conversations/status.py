"""Which status a conversation may go to from which: the one transition table (docs/architecture.md,
"Conversation status").

    open     → pending, snoozed, resolved
    pending  → open, snoozed, resolved
    snoozed  → open, pending, resolved, snoozed (a new wake-up time)
    resolved → open (reopen: by an agent, or by the customer writing again)

Staying in the same status is a no-op, not an error (resolving twice answers like resolving once), except
snoozed → snoozed, which moves the wake-up time. Every status write goes through
`conversations.service._set_status`, which calls `check_transition` — agents, the bot, the customer's
message that reopens, the snooze wake-up and the auto-resolve job alike."""

from __future__ import annotations

from typing import Final

from kefu.core.constants import ConversationStatus as S
from kefu.core.errors import Conflict

TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    S.OPEN: frozenset({S.PENDING, S.SNOOZED, S.RESOLVED}),
    S.PENDING: frozenset({S.OPEN, S.SNOOZED, S.RESOLVED}),
    S.SNOOZED: frozenset({S.OPEN, S.PENDING, S.RESOLVED, S.SNOOZED}),
    S.RESOLVED: frozenset({S.OPEN}),
}


class InvalidTransition(Conflict):
    """409: the conversation's current status may not change to the asked one."""

    def __init__(self, current: S, wanted: S) -> None:
        allowed = next_statuses(current)
        super().__init__(
            f"a {current} conversation cannot become {wanted} (allowed: {', '.join(allowed) or 'none'})",
            details={"from": str(current), "to": str(wanted), "allowed": [str(s) for s in allowed]},
        )


def can_transition(current: str, wanted: str) -> bool:
    """True if `current` → `wanted` is in the table, or is the same status (a no-op)."""
    return current == wanted or S(wanted) in TRANSITIONS[S(current)]


def check_transition(current: str, wanted: str) -> None:
    if not can_transition(current, wanted):
        raise InvalidTransition(S(current), S(wanted))


def next_statuses(current: str) -> list[S]:
    """The statuses `current` may change to, in the table's order (what the UI offers)."""
    targets = TRANSITIONS[S(current)]
    return [s for s in S if s in targets]
