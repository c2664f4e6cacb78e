"""Sparse text features shared by the intent and sentiment models: word and character n-gram TF-IDF.

Texts are normalised first (`kefu.nlp.normalise`), so 繁/简 and full/half-width forms share features.
Character n-grams carry Chinese (no word segmentation needed); word n-grams carry English and pinyin.
"""

from __future__ import annotations

from collections import Counter
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
        self.word = TfidfVectorizer(
            analyzer="word",
            ngram_range=cfg.word_ngrams,
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
            dtype=np.float32,
        )
        self.char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=cfg.char_ngrams,
            sublinear_tf=True,
            min_df=cfg.char_min_df,
            max_features=cfg.max_features,
            dtype=np.float32,
        )

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

    @property
    def n_features(self) -> int:
        return len(self.word.vocabulary_) + len(self.char.vocabulary_)

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's row of `transform` as (column indices, float32 values), without building sparse
        matrices: the per-message path, where scikit-learn's per-call validation costs more than the maths."""
        norm = normalise(text)
        word_idx, word_val = _tfidf_row(self.word, norm)
        char_idx, char_val = _tfidf_row(self.char, norm)
        return (np.concatenate([word_idx, char_idx + len(self.word.vocabulary_)]), np.concatenate([word_val, char_val]))


def _tfidf_row(vectoriser: TfidfVectorizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """What `vectoriser.transform([text])` computes (sublinear tf, idf, l2 norm), as one sparse row."""
    vocabulary = vectoriser.vocabulary_
    counts = Counter(j for j in map(vocabulary.get, vectoriser.build_analyzer()(text)) if j is not None)
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
    if vectoriser.sublinear_tf:
        tf = (np.log(tf) + 1.0).astype(np.float32)
    values = tf * vectoriser.idf_[idx].astype(np.float32)
    norm = np.sqrt(np.dot(values, values))
    return idx, values / norm if norm > 0 else values
