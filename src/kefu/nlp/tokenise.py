"""Tokenisation for keyword search (BM25): jieba words + character bigrams for Chinese, light-stemmed
words for English. Input is normalised first (NFKC, 繁→简, lower-case), so 訂單 and 订单 match.

jieba loads its dictionary once, lazily, on the first Chinese text, with its logger silenced.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

from kefu.nlp.normalise import normalise

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9\u00c0-\u024f]+(?:['’][a-z]+)?")
_CJK_START = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_ZH_STOP = "的 了 吗 呢 吧 啊 呀 嘛 哦 哈 么 着 地 得 之 请问 一下 您好 你好 谢谢"
_EN_STOP = (
    "a an the is are am was were be been to of in on at for and or i me my it its this that do does did "
    "can could would will you your we our us please hi hello thanks thank there"
)
ZH_STOP = frozenset(_ZH_STOP.split(" "))
EN_STOP = frozenset(_EN_STOP.split(" "))

_lock = threading.Lock()
_cut: Callable[[str], list[str]] | None = None


def _jieba_cut() -> Callable[[str], list[str]]:
    """Initialise jieba once (thread-safe) without its stderr chatter; return its `lcut`."""
    global _cut
    if _cut is None:
        with _lock:
            if _cut is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.initialize()
                _cut = jieba.lcut
    return _cut


def stem(word: str) -> str:
    """A deliberately small English suffix stripper: refunds/refunded/refunding → refund,
    charge/charges/charged → charg, apply/applies/applied → appli. Not Porter; consistent is enough."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")):
        word = word[:-3] + "i"
    elif word.endswith("ing") and len(word) >= 6:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) >= 5:
        word = _undouble(word[:-2])
    elif word.endswith("es") and len(word) >= 5:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us")):
        word = word[:-1]
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    elif len(word) >= 4 and word.endswith("y"):
        word = word[:-1] + "i"
    return word


def _undouble(word: str) -> str:
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    return word


def tokenise(text: str, *, bigrams: bool = True) -> list[str]:
    """Tokens for BM25. Chinese runs → jieba words (minus a few particles) + character bigrams;
    Latin runs → lower-cased, stop-words dropped, lightly stemmed; digits kept as they are."""
    tokens: list[str] = []
    for run in _RUN.findall(normalise(text)):
        if _CJK_START.match(run):
            tokens.extend(_chinese(run, bigrams))
        elif run not in EN_STOP:
            tokens.append(stem(run))
    return tokens


def _chinese(run: str, bigrams: bool) -> list[str]:
    if len(run) == 1:
        return [] if run in ZH_STOP else [run]
    words = [w for w in _jieba_cut()(run) if w not in ZH_STOP]
    if bigrams:
        words.extend(run[i : i + 2] for i in range(len(run) - 1))
    return words


def tokenise_many(texts: list[str], *, bigrams: bool = True) -> list[list[str]]:
    return [tokenise(t, bigrams=bigrams) for t in texts]
