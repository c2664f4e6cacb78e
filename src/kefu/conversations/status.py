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
from kefu.core.transitions import InvalidTransition as InvalidTransition
from kefu.core.transitions import TransitionTable

TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    S.OPEN: frozenset({S.PENDING, S.SNOOZED, S.RESOLVED}),
    S.PENDING: frozenset({S.OPEN, S.SNOOZED, S.RESOLVED}),
    S.SNOOZED: frozenset({S.OPEN, S.PENDING, S.RESOLVED, S.SNOOZED}),
    S.RESOLVED: frozenset({S.OPEN}),
}


TABLE: Final = TransitionTable(S, TRANSITIONS, "conversation")
can_transition = TABLE.can
check_transition = TABLE.check
next_statuses = TABLE.next
