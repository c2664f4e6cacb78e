"""The bot's fixed replies — what it says that is not an answer, a flow's own prompt or an intent's reply —
as a catalogue of named texts (docs/bot.md, "The bot's texts").

Each text's default is an English msgid translated in the .po files (zh_CN, zh_TW, en); an account may
override any text per locale (table `bot_texts`, Admin → Bot → Texts, `PUT /api/v1/bot/texts`); an empty
override is no override. The policy stays pure: it returns a `Reply` (a key and its parameters); the
runtime renders it in the customer's locale with the account's overrides (`render`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

MAX_CHARS = 2000  # an override's length cap
LOCALES = ("zh_CN", "zh_TW", "en")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tabs and newlines are allowed
_PARAM = re.compile(r"\{(\w+)\}")


def N_(message: str) -> str:
    return message


class TextKey(StrEnum):
    FALLBACK = "fallback"
    CLARIFY = "clarify"
    HANDOFF = "handoff"
    HANDOFF_CLOSED = "handoff_closed"
    HANDOFF_NEVER = "handoff_never"
    WAITING_ACK = "waiting_ack"
    WAITING_ACK_CLOSED = "waiting_ack_closed"
    WAITING_ACK_NEVER = "waiting_ack_never"
    FLOW_GAVE_UP = "flow_gave_up"
    FLOW_OFF_TOPIC = "flow_off_topic"


#: key → (what it is for, the default's msgid); `{when}`: when the business hours open again
CATALOGUE: dict[TextKey, tuple[str, str]] = {
    TextKey.FALLBACK: (
        N_("The bot did not understand the message"),
        N_("Sorry, I did not understand. Could you rephrase it? You can also type “human” to talk to an agent."),
    ),
    TextKey.CLARIFY: (
        N_("Before the numbered choices when several answers are close"),
        N_("Which of these do you mean? Reply with its number:"),
    ),
    TextKey.HANDOFF: (N_("Handoff, within business hours"), N_("Connecting you to a human agent…")),
    TextKey.HANDOFF_CLOSED: (
        N_("Handoff, outside business hours ({when}: when they open)"),
        N_(
            "You are in the queue for a human agent. We are outside business hours: someone will answer {when}. "
            "Feel free to leave your message here."
        ),
    ),
    TextKey.HANDOFF_NEVER: (
        N_("Handoff, outside business hours with no opening ahead"),
        N_(
            "You are in the queue for a human agent. We are outside business hours: someone will answer as soon "
            "as we are back. Feel free to leave your message here."
        ),
    ),
    TextKey.WAITING_ACK: (
        N_("A message while waiting for an agent"),
        N_("Got it — an agent will reply as soon as possible."),
    ),
    TextKey.WAITING_ACK_CLOSED: (
        N_("A message while waiting for an agent, outside business hours ({when}: when they open)"),
        N_("Got it. We are outside business hours: someone will answer {when}."),
    ),
    TextKey.WAITING_ACK_NEVER: (
        N_("A message while waiting for an agent, outside business hours with no opening ahead"),
        N_("Got it. We are outside business hours: someone will answer as soon as we are back."),
    ),
    TextKey.FLOW_GAVE_UP: (
        N_("A flow gives up on an unanswered question (when the flow has no reply of its own)"),
        N_(
            "Sorry, I still could not get what I needed, so I have stopped this request. You can ask again in "
            "other words, or type “human” to talk to an agent."
        ),
    ),
    TextKey.FLOW_OFF_TOPIC: (
        N_("Before a flow's question again, when the message was about something else"),
        N_("I can't help with that one here (type “human” to talk to an agent)."),
    ),
}

#: an account's overrides: (key, locale) → text
Overrides = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Reply:
    """A fixed reply the policy chose: its key, its parameters, and content said after it (the numbered
    choices after `clarify`, the flow's question after `flow_off_topic`)."""

    key: TextKey
    params: dict[str, str] = field(default_factory=dict)
    after: str = ""

    def to_json(self) -> dict[str, object]:
        return {"key": str(self.key), "params": dict(self.params)}


def locale_of(language: str, traditional: bool = False) -> str:
    """The texts' locale for a customer writing in `language` (the bot's zh / en), in 繁體 or not."""
    if language == "en":
        return "en"
    return "zh_TW" if traditional else "zh_CN"


@cache
def default(key: TextKey, locale: str) -> str:
    """The default text from the locale's .po file."""
    from kefu.web.i18n import translations  # the catalogue of the UI's translations

    return str(translations(locale).gettext(CATALOGUE[key][1]))


def render(reply: Reply, locale: str, overrides: Overrides | None = None) -> str:
    """The customer's text: the account's override for this locale, else the default; `{name}` parameters
    filled (other braces stay as written), then what comes after."""
    template = (overrides or {}).get((str(reply.key), locale)) or default(reply.key, locale)
    text = _PARAM.sub(lambda m: reply.params.get(m.group(1), m.group(0)), template)
    return text + reply.after


def check_text(text: str) -> str | None:
    """Why an override cannot be stored (None: it can)."""
    if len(text) > MAX_CHARS:
        return f"at most {MAX_CHARS} characters"
    if _CONTROL.search(text):
        return "control characters are not allowed"
    return None
