"""Which status a ticket may go to from which: the one transition table (docs/tickets.md, "Lifecycle").

    new      → open, pending, on_hold, solved, closed
    open     → pending, on_hold, solved, closed
    pending  → open, on_hold, solved, closed     (waiting on the customer; their reply → open)
    on_hold  → open, pending, solved, closed     (waiting on a third party)
    solved   → open, closed                      (a customer reply reopens it)
    closed   → (none: final)

Staying in the same status is a no-op, not an error. Nothing goes back to `new`. Every status write goes
through `kefu.tickets.service.do_change_status` / `_set_status`, which calls `check_transition` — agents,
the API, rules and the customer's reply (tickets/listeners.py) alike."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from kefu.core.transitions import InvalidTransition as InvalidTransition
from kefu.core.transitions import TransitionTable


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


S = TicketStatus

TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.SOLVED, S.CLOSED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED, S.CLOSED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED, S.CLOSED}),
    S.SOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# What a customer's reply does to a ticket linked to the conversation: only these change (to open).
REOPENED_BY_REPLY: Final[frozenset[S]] = frozenset({S.PENDING, S.SOLVED})
# Still being worked on: a repeat contact links to these whatever their age (solved ones: within N days).
ACTIVE: Final[frozenset[S]] = frozenset({S.NEW, S.OPEN, S.PENDING, S.ON_HOLD})


TABLE: Final = TransitionTable(S, TRANSITIONS, "ticket")
can_transition = TABLE.can
check_transition = TABLE.check
next_statuses = TABLE.next


def status_after_reply(current: str) -> S | None:
    """The status a customer's reply moves a linked ticket to, or None when it stays as it is."""
    return S.OPEN if S(current) in REOPENED_BY_REPLY else None
