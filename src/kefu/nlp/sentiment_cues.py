"""Anger and urgency flags from explicit cues, each with the reason that raised it (zh and en).

The cue lists are written by the project (Apache-2.0). Matching runs on the normalised text (简体, lower
case), so 繁體 and full-width input match too; ALL CAPS is checked on the original text. Chinese cues match
as substrings, English cues as whole words or phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kefu.nlp.normalise import normalise

ANGER_ZH = (
    "投诉",
    "12315",
    "律师",
    "起诉",
    "差评",
    "曝光",
    "举报",
    "消协",
    "骗子",
    "骗人",
    "垃圾",
    "气死",
    "坑人",
    "忍无可忍",
    "太离谱",
    "什么破",
    "无语",
    "恶心",
    "欺骗",
    "媒体",
)
ANGER_EN = (
    "lawyer",
    "sue",
    "legal action",
    "ridiculous",
    "unacceptable",
    "scam",
    "fraud",
    "worst",
    "furious",
    "disgusting",
    "pathetic",
    "useless",
    "terrible",
    "awful",
    "complaint",
    "never again",
    "angry",
)
URGENCY_ZH = (
    "退款",
    "马上",
    "立刻",
    "赶紧",
    "尽快",
    "紧急",
    "着急",
    "急用",
    "等了",
    "催",
    "今天必须",
    "还没到",
    "取消订单",
    "12315",
    "律师",
)
URGENCY_EN = (
    "refund",
    "cancel",
    "urgent",
    "urgently",
    "asap",
    "immediately",
    "right now",
    "emergency",
    "still waiting",
    "still not",
    "today",
    "lawyer",
)

_EXCLAIM = re.compile(r"[!！]{3,}")
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_EN_PATTERNS = {cue: re.compile(rf"\b{re.escape(cue)}\b") for cue in ANGER_EN + URGENCY_EN}


@dataclass(frozen=True)
class Flags:
    anger: bool
    urgency: bool
    anger_reasons: tuple[str, ...]  # the cues found, in list order; "!!!" and "ALL CAPS" for typography
    urgency_reasons: tuple[str, ...]


def detect(text: str) -> Flags:
    norm = normalise(text)
    anger = _cues(norm, ANGER_ZH, ANGER_EN) + _typography(text)
    urgency = _cues(norm, URGENCY_ZH, URGENCY_EN)
    return Flags(anger=bool(anger), urgency=bool(urgency), anger_reasons=anger, urgency_reasons=urgency)


def _cues(norm: str, zh: tuple[str, ...], en: tuple[str, ...]) -> tuple[str, ...]:
    found = [cue for cue in zh if cue in norm]
    found += [cue for cue in en if _EN_PATTERNS[cue].search(norm)]
    return tuple(found)


def _typography(text: str) -> tuple[str, ...]:
    reasons = []
    if _EXCLAIM.search(text):
        reasons.append("!!!")
    if _is_shouting(text):
        reasons.append("ALL CAPS")
    return tuple(reasons)


def _is_shouting(text: str) -> bool:
    """At least two all-capital words of 3+ letters, making up most of the Latin letters in the text."""
    caps = _CAPS_WORD.findall(text)
    letters = sum(ch.isascii() and ch.isalpha() for ch in text)
    return len(caps) >= 2 and sum(map(len, caps)) >= 0.6 * letters
