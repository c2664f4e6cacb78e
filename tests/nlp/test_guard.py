"""The training guard (kefu.nlp.guard): the blend ships only when it beats the sparse-only baseline on a
held-out calibration slice, for sentiment and intent models; the outcome travels with the model's bytes.

The data are synthetic, built around the calibration split itself (`held_out_split`, deterministic):
- a fake embedder reads whether the text starts with a capital letter — invisible to TF-IDF, which reads the
  normalised (lower-cased) text;
- "dense hurts": the label is a word TF-IDF sees; the capital letter agrees with the label on the rows the
  models are fitted on and contradicts it on the calibration slice, so the blend, leaning on the embedding,
  is wrong on the slice while the baseline is right;
- "dense helps": the label is the capital letter alone, which only the embedding sees.
"""

from __future__ import annotations

import numpy as np

from kefu.nlp.guard import MIN_SLICE, SLICE_SHARE
from kefu.nlp.intent import IntentModel
from kefu.nlp.intent_ensemble import EnsembleConfig
from kefu.nlp.intent_threshold import held_out_split
from kefu.nlp.sentiment import SentimentModel

BLEND = EnsembleConfig(dense_weight=4.0, svm_c=0.5, svm_temperature=3.0, knn_weight=0.0)
FILLERS = ("box", "shoe", "lamp", "cup", "desk")
WORDS = ("nice", "okay", "fine")


class CapitalEmbedder:
    """[1, 0] for a text starting with a capital letter, else [0, 1] (no model needed)."""

    dim = 2

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        rows = [[1.0, 0.0] if t[:1].isupper() else [0.0, 1.0] for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)

    embed_passages = embed_queries


def _capital(text: str, upper: bool) -> str:
    return text[0].upper() + text[1:] if upper else text


def dense_hurts(labels: tuple[str, str], n: int, share: float) -> list[tuple[str, str]]:
    """The label's word decides; the capital letter follows the label except on the calibration slice."""
    gold = [labels[i % 2] for i in range(n)]
    held = set(held_out_split(gold, 0, share=share)[1].tolist())
    word = {labels[0]: "great", labels[1]: "awful"}
    return [
        (_capital(f"{word[label]} {FILLERS[i % 5]}", (label == labels[0]) != (i in held)), label)
        for i, label in enumerate(gold)
    ]


def dense_helps(labels: tuple[str, str], n: int) -> list[tuple[str, str]]:
    """Only the capital letter (seen by the embedding alone) tells the labels apart."""
    return [(_capital(f"{WORDS[i % 3]} {FILLERS[i % 5]}", i % 2 == 0), labels[i % 2]) for i in range(n)]


def test_sentiment_guard_ships_the_baseline_when_the_embedding_hurts() -> None:
    examples = dense_hurts(("positive", "negative"), 240, SLICE_SHARE)
    model = SentimentModel.train(examples, embedder=CapitalEmbedder(), config=BLEND)  # type: ignore[arg-type]
    assert model.metadata["guard"] == {
        "chosen": "baseline",
        "slice_size": 36,  # 15 % of 120 per label
        "ensemble_accuracy": 0.0,
        "baseline_accuracy": 1.0,
        "reason": "the ensemble was not better than the sparse-only baseline",
    }
    assert (model.metadata["config"]["dense_weight"], model.metadata["config"]["svm_c"]) == (0.0, 1.0)
    assert not model.uses_embeddings
    assert model.predict(["Awful lamp", "great cup"]) == ["negative", "positive"]


def test_sentiment_guard_keeps_the_ensemble_when_it_is_better() -> None:
    model = SentimentModel.train(
        dense_helps(("positive", "negative"), 240),
        embedder=CapitalEmbedder(),  # type: ignore[arg-type]
        config=BLEND,
    )
    guard = model.metadata["guard"]
    assert (guard["chosen"], guard["slice_size"], guard["ensemble_accuracy"]) == ("ensemble", 36, 1.0)
    assert guard["baseline_accuracy"] < 0.7
    assert guard["reason"] == "the ensemble beat the sparse-only baseline on the slice"
    assert model.metadata["config"]["dense_weight"] == 4.0
    assert model.predict(["Okay desk", "okay desk"]) == ["positive", "negative"]
    restored = SentimentModel.from_bytes(model.to_bytes(), embedder=CapitalEmbedder())  # type: ignore[arg-type]
    assert restored.metadata["guard"] == guard
    assert restored.predict(["Okay desk", "okay desk"]) == ["positive", "negative"]


def test_sentiment_guard_needs_a_large_enough_slice() -> None:
    model = SentimentModel.train(
        dense_helps(("positive", "negative"), 40),
        embedder=CapitalEmbedder(),  # type: ignore[arg-type]
        config=BLEND,
    )
    assert model.metadata["guard"] == {
        "chosen": "ensemble",
        "slice_size": 6,
        "ensemble_accuracy": None,
        "baseline_accuracy": None,
        "reason": f"too few examples for a calibration slice (6 < {MIN_SLICE}): no guard",
    }
    assert model.metadata["config"]["dense_weight"] == 4.0


def test_sentiment_guard_can_be_turned_off_and_sparse_configs_skip_it() -> None:
    examples = dense_hurts(("positive", "negative"), 240, SLICE_SHARE)
    off = SentimentModel.train(examples, embedder=CapitalEmbedder(), config=BLEND, guard=False)  # type: ignore[arg-type]
    assert "guard" not in off.metadata and off.uses_embeddings
    sparse = EnsembleConfig(dense_weight=0.0, svm_c=0.5, svm_temperature=3.0, knn_weight=0.0)
    model = SentimentModel.train(examples, config=sparse)
    assert model.metadata["guard"]["chosen"] == "baseline"
    assert model.metadata["guard"]["reason"] == "the configuration is sparse-only: it is the baseline"
    assert model.metadata["config"]["svm_c"] == 0.5  # the configuration asked for, unchanged


INTENT_BLEND = EnsembleConfig()  # the intent default: embedding block and a kNN vote


def test_intent_guard_ships_the_sparse_configuration_when_the_embedding_hurts() -> None:
    examples = dense_hurts(("refund", "track"), 200, 0.2)
    model = IntentModel.train(examples, embedder=CapitalEmbedder(), config=INTENT_BLEND)  # type: ignore[arg-type]
    assert model.metadata.guard == {
        "chosen": "baseline",
        "slice_size": 40,  # the OOS calibration slice: 20 % of 100 per label
        "ensemble_accuracy": 0.0,
        "baseline_accuracy": 1.0,
        "reason": "the ensemble was not better than the sparse-only baseline",
    }
    assert (model.metadata.config["dense_weight"], model.metadata.config["knn_weight"]) == (0.0, 0.0)
    assert [p.label for p in model.predict_batch(["Awful lamp", "great cup"])] == ["track", "refund"]
    restored = IntentModel.from_bytes(model.to_bytes(), embedder=CapitalEmbedder())  # type: ignore[arg-type]
    assert restored.metadata.guard == model.metadata.guard


def test_intent_guard_keeps_the_ensemble_when_it_is_better() -> None:
    model = IntentModel.train(
        dense_helps(("refund", "track"), 200),
        embedder=CapitalEmbedder(),  # type: ignore[arg-type]
        config=INTENT_BLEND,
    )
    guard = model.metadata.guard
    assert (guard["chosen"], guard["slice_size"], guard["ensemble_accuracy"]) == ("ensemble", 40, 1.0)
    assert guard["baseline_accuracy"] < 0.7
    assert model.metadata.config == {**model.metadata.config, "dense_weight": 4.0, "knn_weight": 0.3}
    assert [p.label for p in model.predict_batch(["Okay desk", "okay desk"])] == ["refund", "track"]


def test_intent_guard_off_and_with_too_few_examples() -> None:
    examples = dense_hurts(("refund", "track"), 200, 0.2)
    off = IntentModel.train(
        examples,
        embedder=CapitalEmbedder(),  # type: ignore[arg-type]
        config=INTENT_BLEND,
        guard_baseline=False,
    )
    assert off.metadata.guard == {} and off.metadata.config["dense_weight"] == 4.0
    small = IntentModel.train(dense_helps(("refund", "track"), 40), embedder=CapitalEmbedder())  # type: ignore[arg-type]
    assert small.metadata.guard["chosen"] == "ensemble"
    assert small.metadata.guard["reason"] == f"too few examples for a calibration slice (8 < {MIN_SLICE}): no guard"


def test_intent_guard_counts_in_scope_rows_only() -> None:
    """OOS rows on the slice do not count towards the slice size."""
    rows = dense_helps(("refund", "track"), 40) + [(f"weather {FILLERS[i % 5]} {i}", "oos") for i in range(45)]
    model = IntentModel.train(rows, oos_label="oos", embedder=CapitalEmbedder())  # type: ignore[arg-type]
    assert model.metadata.guard["slice_size"] == 8
    assert model.metadata.guard["chosen"] == "ensemble"
