"""Knowledge text as a reader sees it: on 繁體中文 pages (locale zh_TW) Chinese entries written in simplified
characters are shown in Traditional characters, converted with OpenCC's `s2tw` configuration. The stored
text never changes: only what is shown.

Why `s2tw` — OpenCC's simplified → Traditional (`s2t`) followed by Taiwan's standard character forms, and no
word replacement:
- `s2t` alone writes OpenCC's own standard forms, which readers in Taiwan take for mistakes: 爲 / 裏 / 着 / 覈
  where Taiwan writes 為 / 裡 / 著 / 核 (请审核 → 請審覈; s2tw: 請審核).
- `s2twp` also swaps mainland words for Taiwan ones, and in a shop's answers that changes what they say:
  退货程序 (return procedure) → 退貨程式 (return *program*), 会员项目 (membership items) → 會員專案 (membership
  *project*), 请审核 (please review) → 請稽核 (please *audit*), 视频客服 (video support) → 影片客服 (*film*
  support). A help centre must say what the shop wrote, so words are left alone.
- The bot answers customers who write 繁體 with the same conversion (kefu.bot.nlu.to_traditional), so the help
  centre and the bot show the same FAQ in the same words.
Entries already in Traditional Chinese (language zh-TW, zh-HK, zh-Hant…) and entries in other languages are
shown as written."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

TRADITIONAL_LOCALE = "zh_TW"
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TRADITIONAL_TAGS = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")
_converter: Any = None


OPENCC_CONFIG = "s2tw"


@lru_cache(maxsize=8192)
def to_taiwan_traditional(text: str) -> str:
    """Simplified → Traditional in Taiwan's character forms (OpenCC s2tw); text without Han characters is kept."""
    global _converter
    if not _HAN.search(text):
        return text
    if _converter is None:
        from opencc import OpenCC

        _converter = OpenCC(OPENCC_CONFIG)
    return str(_converter.convert(text))


def _converts(entry_language: str) -> bool:
    tag = (entry_language or "").lower()
    return tag.split("-")[0] == "zh" and not tag.startswith(_TRADITIONAL_TAGS)


def shown_as(locale: str) -> Callable[[str, str], str]:
    """`show(text, entry_language)` for pages in `locale`."""

    def show(text: str, entry_language: str) -> str:
        if locale == TRADITIONAL_LOCALE and _converts(entry_language):
            return to_taiwan_traditional(text)
        return text

    return show
