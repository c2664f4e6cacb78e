"""The BERT encoder of multilingual-e5-small as an ONNX graph (opset 17 + com.microsoft Gelu), built from
the model file's weights expanded to float32 — or from given (e.g. fine-tuned) layer weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from kefu.nlp.e5onnx.weights import E5File

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
