"""Keyword side of the hybrid index: a bm25s segment plus a small delta segment for recent edits.

The main segment is a `bm25s.BM25` index (immutable once built). Rows added later go to the delta,
scored here with the same Lucene BM25 formula but with corpus statistics (N, df, average length)
counted over all live rows; rows removed from the main segment are masked out. `compact()` re-indexes
every live row into a new main segment (seconds for 10^5 rows) — the caller decides when (e.g. when
the delta passes a size limit, or from a background job).
"""

from __future__ import annotations

import math
from collections import Counter

import bm25s
import numpy as np

K1 = 1.5
B = 0.75


class SparseStore:
    def __init__(self) -> None:
        self.tokens: dict[int, list[str]] = {}  # every live row
        self.df: Counter[str] = Counter()
        self.total_len = 0
        self.main: bm25s.BM25 | None = None
        self.main_rows = np.zeros(0, dtype=np.int64)  # main position → row id
        self.main_mask = np.zeros(0, dtype=np.float32)  # 0 for removed rows
        self.main_pos: dict[int, int] = {}
        self.delta: dict[int, Counter[str]] = {}

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def delta_size(self) -> int:
        return len(self.delta)

    def add(self, row: int, tokens: list[str]) -> None:
        self.tokens[row] = tokens
        self.df.update(set(tokens))
        self.total_len += len(tokens)
        self.delta[row] = Counter(tokens)

    def remove(self, row: int) -> None:
        tokens = self.tokens.pop(row)
        self.df.subtract(set(tokens))
        self.total_len -= len(tokens)
        if self.delta.pop(row, None) is None:
            self.main_mask[self.main_pos[row]] = 0.0

    def compact(self) -> None:
        """Re-index all live rows into one bm25s segment; the delta becomes empty."""
        rows = sorted(self.tokens)
        self.main_rows = np.asarray(rows, dtype=np.int64)
        self.main_pos = {row: i for i, row in enumerate(rows)}
        self.main_mask = np.ones(len(rows), dtype=np.float32)
        self.delta = {}
        self.df = +self.df  # drop zero counts
        if not rows:
            self.main = None
            return
        self.main = bm25s.BM25(k1=K1, b=B, method="lucene")
        self.main.index([self.tokens[r] for r in rows], show_progress=False)

    def scores(self, query_tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(row ids, BM25 scores) of every live row that shares a token with the query."""
        rows: list[np.ndarray] = []
        values: list[np.ndarray] = []
        if self.main is not None:
            ids = self.main.get_tokens_ids(query_tokens)
            if ids:
                main_scores = self.main.get_scores(ids, weight_mask=self.main_mask)
                hits = np.flatnonzero(main_scores)
                rows.append(self.main_rows[hits])
                values.append(main_scores[hits])
        if self.delta:
            delta_rows, delta_scores = self._delta_scores(query_tokens)
            rows.append(delta_rows)
            values.append(delta_scores)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(rows), np.concatenate(values).astype(np.float32)

    def _delta_scores(self, query_tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        n_docs = max(len(self.tokens), 1)
        avg_len = max(self.total_len / n_docs, 1e-9)
        idf = {t: math.log(1 + (n_docs - self.df[t] + 0.5) / (self.df[t] + 0.5)) for t in set(query_tokens)}
        rows, values = [], []
        for row, counts in self.delta.items():
            norm = K1 * (1 - B + B * len(self.tokens[row]) / avg_len)
            score = sum(idf[t] * counts[t] / (norm + counts[t]) for t in query_tokens if t in counts)
            if score > 0:
                rows.append(row)
                values.append(score)
        return np.asarray(rows, dtype=np.int64), np.asarray(values, dtype=np.float32)
