"""An on-disk embedding cache for evaluation runs, keyed by a hash of (prefix kind, text).

Wraps any `Embedder`; vectors computed once are reused by later runs (default dir `./var/cache/embeddings`).
Progress for long embedding steps goes to stderr.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kefu.nlp.embed import Embedder

_CHUNK = 256
_SHARD = 2048  # texts per saved shard


class CachedEmbedder:
    """Same interface as `Embedder`; misses are embedded in chunks and appended to the cache as a shard."""

    def __init__(
        self, base: Embedder, cache_dir: str | Path = "var/cache/embeddings", *, progress: bool = True
    ) -> None:
        self.base = base
        self.dim = base.dim
        self.dir = Path(cache_dir) / type(base).__name__
        self.progress = progress
        self._mem: dict[str, np.ndarray] = {}
        self._loaded = False

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "query", self.base.embed_queries)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "passage", self.base.embed_passages)

    def _embed(self, texts: list[str], kind: str, fn: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        self._load()
        keys = [_key(kind, t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._mem))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            self._compute([by_key[k] for k in missing], missing, kind, fn)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._mem[k] for k in keys])

    def _compute(self, texts: list[str], keys: list[str], kind: str, fn: Callable[[list[str]], np.ndarray]) -> None:
        """Embeds in chunks; every `_SHARD` texts are saved as they are done, so a stopped run keeps them."""
        start = time.perf_counter()
        for s in range(0, len(texts), _SHARD):
            parts = []
            for i in range(s, min(s + _SHARD, len(texts)), _CHUNK):
                parts.append(np.asarray(fn(texts[i : i + _CHUNK]), dtype=np.float32))
                self._report(kind, min(i + _CHUNK, len(texts)), len(texts), start)
            vecs = np.concatenate(parts)
            shard_keys = keys[s : s + _SHARD]
            self._mem.update(zip(shard_keys, vecs, strict=True))
            self._save(shard_keys, vecs)

    def _report(self, kind: str, done: int, total: int, start: float) -> None:
        if self.progress and total > _CHUNK:
            rate = done / max(time.perf_counter() - start, 1e-9)
            print(f"\rembedding {kind} texts {done}/{total} ({rate:.0f}/s)", end="", file=sys.stderr)
            if done == total:
                print(file=sys.stderr)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for shard in sorted(self.dir.glob("*.npz")):
            with np.load(shard) as data:
                self._mem.update(zip(data["keys"].tolist(), data["vecs"], strict=True))

    def _save(self, keys: list[str], vecs: np.ndarray) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1("".join(keys).encode()).hexdigest()[:16]
        np.savez(self.dir / f"{name}.npz", keys=np.asarray(keys), vecs=vecs)


def _key(kind: str, text: str) -> str:
    return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()
