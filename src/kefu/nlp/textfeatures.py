"""Sparse text features shared by the intent and sentiment models: word and character n-gram TF-IDF.

Texts are normalised first (`kefu.nlp.normalise`), so 繁/简 and full/half-width forms share features.
Character n-grams carry Chinese (no word segmentation needed); word n-grams carry English and pinyin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from kefu.nlp.normalise import normalise


@dataclass(frozen=True)
class SparseConfig:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 5)
    char_min_df: int = 2
    max_features: int | None = 300_000


class SparseFeaturiser:
    """Fitted word + char_wb TF-IDF; `transform` returns one CSR row per text."""

    def __init__(self, config: SparseConfig | None = None) -> None:
        cfg = config or SparseConfig()
        self.word = TfidfVectorizer(analyzer="word", ngram_range=cfg.word_ngrams, sublinear_tf=True,
                                    token_pattern=r"(?u)\b\w+\b", dtype=np.float32)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=cfg.char_ngrams, sublinear_tf=True,
                                    min_df=cfg.char_min_df, max_features=cfg.max_features, dtype=np.float32)

    def fit_transform(self, texts: list[str]) -> sp.csr_matrix:
        norm = [normalise(t) for t in texts]
        if len(norm) < 200:  # small training sets: keep every n-gram
            self.char.set_params(min_df=1)
        return sp.hstack([self.word.fit_transform(norm), self.char.fit_transform(norm)]).tocsr()

    def state(self) -> dict[str, TfidfVectorizer]:
        return {"word": self.word, "char": self.char}

    @classmethod
    def from_state(cls, state: dict[str, TfidfVectorizer]) -> SparseFeaturiser:
        featuriser = cls()
        featuriser.word, featuriser.char = state["word"], state["char"]
        return featuriser

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        norm = [normalise(t) for t in texts]
        return sp.hstack([self.word.transform(norm), self.char.transform(norm)]).tocsr()

