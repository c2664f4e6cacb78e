"""The evaluation embedding cache: vectors are saved shard by shard and read back by a new run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kefu.nlp.embed import l2_normalise
from kefu.nlp.evaluation.cache import CachedEmbedder


class Counting:
    """A deterministic stand-in for a slow embedder: a vector from the text's characters; counts texts."""

    dim = 8

    def __init__(self) -> None:
        self.texts = 0

    def _vec(self, texts: list[str], salt: int) -> np.ndarray:
        self.texts += len(texts)
        rows = [[(sum(map(ord, t)) * (i + 1) + salt) % 97 + 1 for i in range(self.dim)] for t in texts]
        return l2_normalise(np.asarray(rows, dtype=np.float32))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._vec(texts, 1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._vec(texts, 2)


def test_vectors_are_saved_per_shard_and_reused(tmp_path: Path) -> None:
    texts = [f"text {i}" for i in range(5000)]
    first = Counting()
    got = CachedEmbedder(first, tmp_path, progress=False).embed_queries([*texts, "text 7"])
    assert first.texts == 5000  # the repeated text is embedded once
    np.testing.assert_allclose(got[:5000], Counting().embed_queries(texts))
    np.testing.assert_allclose(got[5000], got[7])
    assert len(list((tmp_path / "Counting").glob("*.npz"))) == 3  # 2048 + 2048 + 904

    again = Counting()
    cached = CachedEmbedder(again, tmp_path, progress=False)
    np.testing.assert_allclose(cached.embed_queries(texts[::-1]), got[:5000][::-1])
    assert again.texts == 0
    cached.embed_passages(texts[:3])  # another prefix kind is another key
    assert again.texts == 3
