"""The ensemble's per-message fast path (plain numpy) gives what the batch path (scikit-learn) gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kefu.nlp.intent_ensemble import EnsembleConfig, IntentEnsemble
from kefu.nlp.textfeatures import SparseFeaturiser

FIXTURES = Path(__file__).parent / "fixtures"


def _rows(name: str) -> list[tuple[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8") as fh:
        return [(obj["text"], obj["label"]) for obj in map(json.loads, fh)]


def _unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_transform_one_equals_the_vectoriser_row() -> None:
    texts = [text for text, _ in _rows("intent_train.jsonl")]
    featuriser = SparseFeaturiser()
    featuriser.fit_transform(texts)
    for text in [*texts[:10], "我要退款!!", "where is my ORDER KF123456", "zzz"]:
        row = featuriser.transform([text])
        idx, values = featuriser.transform_one(text)
        order = np.argsort(idx)
        assert idx[order].tolist() == row.indices.tolist()
        np.testing.assert_allclose(values[order], row.data, rtol=0, atol=1e-6)


@pytest.mark.parametrize("config", [EnsembleConfig(), EnsembleConfig(dense_weight=0.0, knn_weight=0.0)])
def test_single_message_path_equals_batch_path(config: EnsembleConfig) -> None:
    rows = _rows("intent_train.jsonl")
    texts, labels = [t for t, _ in rows], [label for _, label in rows]
    dim = 8 if config.dense_weight else 0
    ensemble = IntentEnsemble.fit(texts, _unit_vectors(len(texts), dim, 0), labels, config)
    queries = [t for t, _ in _rows("intent_test.jsonl")]
    vectors = _unit_vectors(len(queries), dim, 1)
    batch = ensemble.proba(queries, vectors)
    single = np.vstack([ensemble.proba([q], vectors[i : i + 1]) for i, q in enumerate(queries)])
    np.testing.assert_allclose(single, batch, rtol=0, atol=1e-6)


def test_two_class_model_scores_both_classes() -> None:
    texts = ["很好吃", "太好了", "非常满意", "难吃", "太差了", "很失望"]
    labels = ["pos", "pos", "pos", "neg", "neg", "neg"]
    ensemble = IntentEnsemble.fit(
        texts, np.zeros((6, 0), np.float32), labels, EnsembleConfig(dense_weight=0.0, knn_weight=0.0)
    )
    one = ensemble.proba(["好吃"], np.zeros((1, 0), np.float32))
    both = ensemble.proba(["好吃", "太差"], np.zeros((2, 0), np.float32))
    assert one.shape == (1, 2)
    np.testing.assert_allclose(one[0], both[0], rtol=0, atol=1e-6)
    assert [ensemble.classes[i] for i in both.argmax(axis=1)] == ["pos", "neg"]


def test_knn_vote_is_the_mean_of_each_labels_best_similarities() -> None:
    # label a: 4 examples, b: 2, c: 1 (fewer than knn_top = 3: the mean of what there is)
    vectors = np.eye(7, dtype=np.float32)
    labels = ["a", "a", "a", "a", "b", "b", "c"]
    texts = [f"text {i}" for i in range(7)]
    ensemble = IntentEnsemble.fit(texts, vectors, labels, EnsembleConfig())
    query = np.array([[0.5, 0.4, 0.3, 0.2, 0.6, -0.1, 0.25]], dtype=np.float32)
    expected = [(0.5 + 0.4 + 0.3) / 3, (0.6 - 0.1) / 2, 0.25]
    np.testing.assert_allclose(ensemble._knn(query)[0], expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ensemble._knn(np.vstack([query, query]))[1], expected, rtol=0, atol=1e-6)
