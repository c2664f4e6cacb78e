"""What a customer is told while a handed-off conversation waits for a person: the handoff message and the
acknowledgements of later messages, in the customer's language, saying when someone will answer when it
is outside the account's business hours. Pure functions (the time and the hours are given).

`handoff_message` is the one place the handoff text is built: whatever else the customer should learn
at handoff (e.g. a place in a queue) is added here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kefu.accounts.hours import BusinessHours

ACK_EVERY = timedelta(minutes=5)  # later messages are acknowledged at most this often

HANDOFF_OPEN = {"zh": "正在为您转接人工客服…", "en": "Connecting you to a human agent…"}
HANDOFF_CLOSED = {
    "zh": "已为您转接人工客服。现在是非工作时间，客服将于{when}回复您，您可以先留言。",
    "en": "You are in the queue for a human agent. We are outside business hours: someone will answer "
    "{when}. Feel free to leave your message here.",
}
HANDOFF_NEVER = {
    "zh": "已为您转接人工客服。现在是非工作时间，客服上班后会尽快回复您，您可以先留言。",
    "en": "You are in the queue for a human agent. We are outside business hours: someone will answer as "
    "soon as we are back. Feel free to leave your message here.",
}
ACK_OPEN = {"zh": "已收到，客服会尽快回复。", "en": "Got it — an agent will reply as soon as possible."}
ACK_CLOSED = {
    "zh": "已收到。现在是非工作时间，客服将于{when}回复您。",
    "en": "Got it. We are outside business hours: someone will answer {when}.",
}
ACK_NEVER = {
    "zh": "已收到。现在是非工作时间，客服上班后会尽快回复您。",
    "en": "Got it. We are outside business hours: someone will answer as soon as we are back.",
}
_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _key(language: str) -> str:
    return "en" if language == "en" else "zh"


def handoff_message(language: str, hours: BusinessHours | None, at: datetime | None) -> str:
    """The customer's message at handoff: a person is coming — and, outside business hours, when."""
    return _say(language, hours, at, HANDOFF_OPEN, HANDOFF_CLOSED, HANDOFF_NEVER)


def waiting_ack(language: str, hours: BusinessHours | None, at: datetime | None) -> str:
    """The acknowledgement of a customer message while the conversation waits for its first human reply."""
    return _say(language, hours, at, ACK_OPEN, ACK_CLOSED, ACK_NEVER)


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
    open_: dict[str, str],
    closed: dict[str, str],
    never: dict[str, str],
) -> str:
    key = _key(language)
    if hours is None or at is None or hours.is_open(at):
        return open_[key]
    opens = hours.next_open(at)
    if opens is None:
        return never[key]
    return closed[key].format(when=when_text(key, opens, at.astimezone(hours.zone), hours.timezone))


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
