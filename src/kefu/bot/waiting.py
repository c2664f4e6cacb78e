"""What a customer is told while a handed-off conversation waits for a person: the handoff message and the
acknowledgements of later messages, in the customer's language, saying when someone will answer when it
is outside the account's business hours. Pure functions (the time and the hours are given).

The texts themselves are the catalogue's (kefu.bot.texts): these functions choose which and fill in
when the hours open. `handoff_message` is the one place the handoff text is chosen: whatever else the
customer should learn at handoff (e.g. a place in a queue) is added here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kefu.accounts.hours import BusinessHours
from kefu.bot.texts import Reply, TextKey

ACK_EVERY = timedelta(minutes=5)  # later messages are acknowledged at most this often

_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _key(language: str) -> str:
    return "en" if language == "en" else "zh"


def handoff_message(language: str, hours: BusinessHours | None, at: datetime | None) -> Reply:
    """The customer's message at handoff: a person is coming — and, outside business hours, when."""
    return _say(language, hours, at, TextKey.HANDOFF, TextKey.HANDOFF_CLOSED, TextKey.HANDOFF_NEVER)


def waiting_ack(language: str, hours: BusinessHours | None, at: datetime | None) -> Reply:
    """The acknowledgement of a customer message while the conversation waits for its first human reply."""
    return _say(language, hours, at, TextKey.WAITING_ACK, TextKey.WAITING_ACK_CLOSED, TextKey.WAITING_ACK_NEVER)


def ack_due(handoff: dict[str, Any], at: datetime | None) -> bool:
    """Whether a message now gets an acknowledgement: the first after the handoff does, later ones when
    the last acknowledgement is ACK_EVERY old."""
    last = handoff.get("acked_at")
    if not last or at is None:
        return True
    try:
        return at - datetime.fromisoformat(last) >= ACK_EVERY
    except (TypeError, ValueError):
        return True


def _say(
    language: str,
    hours: BusinessHours | None,
    at: datetime | None,
    open_: TextKey,
    closed: TextKey,
    never: TextKey,
) -> Reply:
    if hours is None or at is None or hours.is_open(at):
        return Reply(open_)
    opens = hours.next_open(at)
    if opens is None:
        return Reply(never)
    return Reply(closed, {"when": when_text(_key(language), opens, at.astimezone(hours.zone), hours.timezone)})


def when_text(key: str, opens: datetime, now: datetime, zone: str) -> str:
    """When the hours open, as the customer reads it: 今天 / 明天 / 11月30日（周一） + time + the zone."""
    days = (opens.date() - now.date()).days
    clock = opens.strftime("%H:%M")
    weekday = opens.weekday()
    if key == "en":
        if days <= 1:
            day = "today" if days == 0 else "tomorrow"
        else:
            day = f"on {_WEEKDAYS_EN[weekday]} {opens.day} {_MONTHS_EN[opens.month - 1]}"
        return f"{day} at {clock} ({zone} time)"
    if days <= 1:
        day = "今天" if days == 0 else "明天"
    else:
        day = f"{opens.month}月{opens.day}日（周{_WEEKDAYS_ZH[weekday]}）"
    return f"{day} {clock}（{zone} 时间）"
