"""The ticket lifecycle table (tickets/states.py), every pair."""

from __future__ import annotations

import pytest

from kefu.tickets.states import (
    InvalidTransition,
    TicketStatus,
    can_transition,
    check_transition,
    next_statuses,
    status_after_reply,
)

ALLOWED = {
    "new": ["open", "pending", "on_hold", "solved", "closed"],
    "open": ["pending", "on_hold", "solved", "closed"],
    "pending": ["open", "on_hold", "solved", "closed"],
    "on_hold": ["open", "pending", "solved", "closed"],
    "solved": ["open", "closed"],
    "closed": [],
}


@pytest.mark.parametrize("current", list(ALLOWED))
def test_the_table_allows_exactly_these_targets(current: str) -> None:
    assert [str(s) for s in next_statuses(current)] == ALLOWED[current]
    for wanted in TicketStatus:
        expected = wanted == current or wanted in ALLOWED[current]
        assert can_transition(current, wanted) is expected, (current, wanted)


def test_nothing_goes_back_to_new_and_closed_is_final() -> None:
    assert not any(can_transition(s, "new") for s in ALLOWED if s != "new")
    with pytest.raises(InvalidTransition) as exc:
        check_transition("closed", "open")
    assert exc.value.status_code == 409
    assert exc.value.message == "a closed ticket cannot become open (allowed: none)"
    assert exc.value.details == {"from": "closed", "to": "open", "allowed": []}


def test_a_solved_ticket_refuses_pending_with_the_allowed_list() -> None:
    with pytest.raises(InvalidTransition) as exc:
        check_transition("solved", "pending")
    assert exc.value.message == "a solved ticket cannot become pending (allowed: open, closed)"


@pytest.mark.parametrize(
    ("current", "after"),
    [("new", None), ("open", None), ("pending", "open"), ("on_hold", None), ("solved", "open"), ("closed", None)],
)
def test_a_customer_reply_reopens_only_pending_and_solved(current: str, after: str | None) -> None:
    assert status_after_reply(current) == after
