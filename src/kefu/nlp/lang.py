"""Language detection by script ratios — no model, ~microseconds per message.

`detect_language` answers "zh", "en", "mixed" or "other":
- Han characters count 1 each; Latin letters count 1/4 each (one English word ≈ one or two Chinese
  characters of content). Latin tokens that contain digits (order ids, tracking numbers) are ignored.
- Kana, Hangul, Cyrillic, Arabic, Thai, … letters count 1 each towards "other".
- zh if Han ≥ 70 % of the weighted total, en if Han ≤ 20 % and Latin dominates, "other" when other
  scripts dominate or there is no letter at all, else "mixed".
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["zh", "en", "mixed", "other"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f0-9]+")
# kana, hangul, cyrillic, arabic, thai, hebrew, devanagari
_OTHER = re.compile(r"[\u3040-\u30ff\uac00-\ud7af\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u0590-\u05ff\u0900-\u097f]")

ZH_SHARE = 0.7
EN_SHARE = 0.2
LATIN_WEIGHT = 0.25


def script_counts(text: str) -> tuple[float, float, float]:
    """(han, weighted latin, other) counts used by `detect_language`."""
    han = len(_HAN.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text) if not any(c.isdigit() for c in w))
    other = len(_OTHER.findall(text))
    return float(han), latin * LATIN_WEIGHT, float(other)


def detect_language(text: str) -> Language:
    han, latin, other = script_counts(text)
    total = han + latin + other
    if total == 0 or other > han + latin:
        return "other"
    share = han / total
    if share >= ZH_SHARE:
        return "zh"
    if share <= EN_SHARE and latin > other:
        return "en"
    return "mixed"
