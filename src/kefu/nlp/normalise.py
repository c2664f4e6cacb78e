"""Text normalisation for matching: NFKC (full/half width), 繁→简 (OpenCC), case folding.

The original text is always kept and shown; the normalised form is only used for matching.
See docs/nlp-text-and-search.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

_t2s = OpenCC("t2s")
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC t2s); other characters pass through."""
    return str(_t2s.convert(text))


def normalise(text: str) -> str:
    """NFKC, traditional→simplified Chinese, lower-case, collapse white space. Idempotent."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text) if _has_cjk(text) else text
    return _SPACES.sub(" ", text).strip().lower()


def nfkc(text: str) -> str:
    """Only the width/compatibility fold (full-width ＡＢＣ１２３ → ABC123), keeping script and case.

    Offsets: NFKC may change the length of a string (e.g. ㎏ → kg); use `nfkc_keeps_offsets` before
    mapping spans found in the folded text back onto the original.
    """
    return unicodedata.normalize("NFKC", text)


def nfkc_keeps_offsets(text: str) -> bool:
    return len(nfkc(text)) == len(text)


def _has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None
