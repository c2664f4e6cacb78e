"""Text normalisation for matching: NFKC (full/half width), 繁→简 (OpenCC), case folding.

The original text is always kept and shown; the normalised form is only used for matching.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

_t2s = OpenCC("t2s")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    return str(_t2s.convert(text))


def normalise(text: str) -> str:
    """NFKC, traditional→simplified Chinese, lower-case, collapse white space."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text) if _has_cjk(text) else text
    return _SPACES.sub(" ", text).strip().lower()


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)
