"""Custom field values against their definitions (tickets/custom_fields.py): exact messages."""

from __future__ import annotations

import pytest

from kefu.core.errors import Unprocessable
from kefu.tickets.custom_fields import FieldDef, check_values

DEFS = [
    FieldDef("order_no", "text", required=True),
    FieldDef("amount", "number"),
    FieldDef("channel", "select", ("app", "web", "门店")),
    FieldDef("due", "date"),
]


def test_valid_values_are_kept_and_merged() -> None:
    values = {"order_no": "A-1", "amount": 12.5, "channel": "门店", "due": "2026-12-31"}
    assert check_values(DEFS, {}, values, creating=True) == values
    merged = check_values(DEFS, values, {"amount": 3, "due": None}, creating=False)
    assert merged == {"order_no": "A-1", "amount": 3, "channel": "门店"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "12"}, "custom_fields.amount: must be a number"),
        ({"amount": True}, "custom_fields.amount: must be a number"),
        ({"channel": "phone"}, "custom_fields.channel: must be one of: app, web, 门店"),
        ({"due": "2026-02-30"}, "custom_fields.due: must be a date (YYYY-MM-DD)"),
        ({"due": "2026-1-5"}, "custom_fields.due: must be a date (YYYY-MM-DD)"),
        ({"order_no": 5}, "custom_fields.order_no: must be text"),
        ({"order_no": "x" * 2001}, "custom_fields.order_no: must be at most 2000 characters"),
        ({"colour": "red"}, "custom_fields.colour: no custom field has this key"),
        ({"order_no": "  "}, "custom_fields.order_no: is required"),
    ],
)
def test_bad_values_are_refused_with_what_is_wrong(changes: dict[str, object], message: str) -> None:
    with pytest.raises(Unprocessable) as exc:
        check_values(DEFS, {"order_no": "A-1"}, changes, creating=False)
    assert exc.value.message == f"custom fields: {message}"


def test_a_required_field_is_needed_on_creation_only_when_not_touched_later() -> None:
    with pytest.raises(Unprocessable) as exc:
        check_values(DEFS, {}, {"amount": 1}, creating=True)
    assert exc.value.details == [{"field": "custom_fields.order_no", "message": "is required"}]
    # An update that does not touch the required field leaves it as it is (e.g. a ticket a rule created).
    assert check_values(DEFS, {}, {"amount": 1}, creating=False) == {"amount": 1}
