"""Fine-tuned upper layers (kefu.nlp.finetune): the split encoder, the lower-state memo, training with
PyTorch, prediction through ONNX Runtime, and the intent model that blends it in."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from kefu.nlp import finetune
from kefu.nlp.e5onnx import OnnxE5Embedder, build_encoder_graph, pooled_mean
from kefu.nlp.embed import bundled_embedder
from kefu.nlp.finetune import FineTuneConfig, FineTunedHead
from kefu.nlp.intent import IntentModel
from kefu.nlp.vectors import l2_normalise

FIXTURES = Path(__file__).parent / "fixtures"
TEXTS = ["我要退款", "請問運費多少？", "where is my parcel?", "I want to cancel my card, it was stolen!!"]


@pytest.fixture
def torch_installed() -> None:
    """Training needs PyTorch (`make install` installs it); CI (KEFU_TEST_REQUIRE_SERVICES) fails without it."""
    if importlib.util.find_spec("torch") is None:
        if os.environ.get("KEFU_TEST_REQUIRE_SERVICES"):
            raise RuntimeError("PyTorch is not installed: run `make install`")
        pytest.skip("PyTorch is not installed (make install installs it)")


def _rows(name: str) -> list[tuple[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8") as fh:
        return [(obj["text"], obj["label"]) for obj in map(json.loads, fh)]


def test_the_upper_layers_on_the_lower_states_give_the_embedding() -> None:
    emb = bundled_embedder()
    states = emb.query_states(TEXTS)
    assert [len(s) for s in states] == [emb.token_count(t, is_query=True) for t in TEXTS]
    upper = emb.session(build_encoder_graph(emb.model, range(finetune.SPLIT, emb.model.layers)))
    for text, s in zip(TEXTS, states, strict=True):
        mask = np.ones((1, len(s)), dtype=np.float32)
        (hidden,) = upper.run(["hidden"], {"x": s[None], "mask_bias": np.zeros((1, 1, 1, len(s)), np.float32)})
        vector = l2_normalise(pooled_mean(hidden, mask))[0]
        assert float(vector @ emb.embed_queries([text])[0]) > 0.99999


def test_a_single_query_keeps_its_lower_states_for_the_next_reader() -> None:
    emb = OnnxE5Embedder()
    emb.embed_queries(["where is my parcel?"])
    memo = emb._states["query: where is my parcel?"]
    assert emb.query_states(["where is my parcel?"])[0] is memo  # not computed again
    fresh = OnnxE5Embedder().query_states(["where is my parcel?"])[0]
    np.testing.assert_allclose(memo, fresh, atol=1e-4)
    emb.embed_queries(["a", "b"])  # batches are not remembered
    assert list(emb._states) == ["query: where is my parcel?"]
    for i in range(emb.memo_size + 1):
        emb.embed_queries([f"message {i}"])
    assert len(emb._states) == emb.memo_size and "query: where is my parcel?" not in emb._states


@pytest.fixture(scope="module")
def head_and_data() -> tuple[FineTunedHead, list[str], np.ndarray]:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed")
    rows = [r for r in _rows("intent_train.jsonl") if r[1] != "oos"]
    texts = [t for t, _ in rows]
    classes = sorted({label for _, label in rows})
    targets = np.searchsorted(classes, [label for _, label in rows])
    lines: list[str] = []
    head = FineTunedHead.train(
        bundled_embedder(),
        texts,
        targets,
        len(classes),
        config=FineTuneConfig(epochs=8, batch=8),
        progress=lines.append,
    )
    assert len(lines) == 8 and lines[0].startswith("fine-tuning: epoch 1/8, loss ")
    return head, texts, targets


def test_a_fine_tuned_head_learns_its_training_examples(
    torch_installed: None, head_and_data: tuple[FineTunedHead, list[str], np.ndarray]
) -> None:
    head, texts, targets = head_and_data
    proba = head.proba(bundled_embedder(), texts)
    assert proba.shape == (len(texts), int(targets.max()) + 1)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    assert proba.argmax(1).tolist() == targets.tolist()
    assert head.split == finetune.SPLIT and len(head.layers) == bundled_embedder().model.layers - finetune.SPLIT
    assert {v.dtype for layer in head.layers for v in layer.values()} == {np.dtype(np.float16)}


def test_a_head_restored_from_its_state_predicts_the_same(
    torch_installed: None, head_and_data: tuple[FineTunedHead, list[str], np.ndarray]
) -> None:
    head, texts, _ = head_and_data
    again = FineTunedHead.from_state(head.state())
    np.testing.assert_allclose(again.proba(bundled_embedder(), texts), head.proba(bundled_embedder(), texts), atol=1e-6)


def test_the_intent_model_fine_tunes_when_asked_and_keeps_it_in_its_bytes(torch_installed: None) -> None:
    rows = _rows("intent_train.jsonl")
    model = IntentModel.train(rows, oos_label="oos", fine_tune=True, finetune_config=FineTuneConfig(epochs=6, batch=8))
    assert model.finetuned
    assert model.metadata.oos_on_blend  # OOS examples: the rule was calibrated on the blend
    again = IntentModel.from_bytes(model.to_bytes())
    assert again.finetuned and again.metadata == model.metadata
    tests = [t for t, _ in _rows("intent_test.jsonl")]
    assert [p.ranking for p in again.predict_batch(tests)] == [p.ranking for p in model.predict_batch(tests)]
    # a message predicted one at a time (the bot) matches the batch
    assert model.predict(tests[0]).ranking == model.predict_batch(tests[:1])[0].ranking


def test_fine_tuning_is_automatic_only_with_enough_examples(
    torch_installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows("intent_train.jsonl")
    assert len(rows) < finetune.MIN_EXAMPLES
    assert not IntentModel.train(rows, oos_label="oos").finetuned
    monkeypatch.setattr(finetune, "MIN_EXAMPLES", 10)
    assert finetune.wanted(bundled_embedder(), len(rows)) is bundled_embedder()


def test_fine_tuning_needs_the_bundled_embedder() -> None:
    class Other:
        dim = 3

    with pytest.raises(ValueError, match="bundled embedder"):
        finetune.required(Other())


def test_a_sentiment_model_fine_tunes_when_asked_and_keeps_it_in_its_bytes(torch_installed: None) -> None:
    from kefu.nlp.sentiment import EVAL_CONFIG, SentimentModel

    rows = _rows("sentiment_train.jsonl")
    plain = SentimentModel.train(rows, config=EVAL_CONFIG)
    model = SentimentModel.train(
        rows, config=EVAL_CONFIG, fine_tune=True, finetune_config=FineTuneConfig(epochs=8, batch=8)
    )
    assert model.finetuned and not plain.finetuned
    texts = [t for t, _ in rows]
    assert model.predict(texts) == [label for _, label in rows]
    again = SentimentModel.from_bytes(model.to_bytes())
    assert again.finetuned
    np.testing.assert_allclose(again.proba(texts), model.proba(texts), atol=1e-6)
    # the blend is half the ensemble's distribution: it differs from the plain model's
    assert not np.allclose(model.proba(texts), plain.proba(texts), atol=1e-3)


def test_without_oos_examples_the_rule_stays_on_the_ensemble(torch_installed: None) -> None:
    rows = [r for r in _rows("intent_train.jsonl") if r[1] != "oos"]
    model = IntentModel.train(rows, fine_tune=True, finetune_config=FineTuneConfig(epochs=2, batch=8))
    assert model.finetuned and not model.metadata.oos_on_blend


def test_a_head_fine_tuned_above_another_layer_is_refused(
    torch_installed: None, head_and_data: tuple[FineTunedHead, list[str], np.ndarray]
) -> None:
    head, texts, _ = head_and_data
    other = FineTunedHead.from_state({**head.state(), "split": finetune.SPLIT - 2})
    with pytest.raises(ValueError, match=f"fine-tuned above layer {finetune.SPLIT - 2}, not {finetune.SPLIT}: retrain"):
        other.proba(bundled_embedder(), texts)
