"""Intent model: exact labels on fixed inputs, OOS decisions, versioned bytes, calibration slice."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kefu.nlp import modelio
from kefu.nlp.intent import IntentModel, IntentPrediction
from kefu.nlp.intent_threshold import held_out_split

FIXTURES = Path(__file__).parent / "fixtures"


def _rows(name: str) -> list[tuple[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8") as fh:
        return [(obj["text"], obj["label"]) for obj in map(json.loads, fh)]


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return IntentModel.train(_rows("intent_train.jsonl"), oos_label="oos")


@pytest.fixture(scope="module")
def model_without_oos() -> IntentModel:
    return IntentModel.train([r for r in _rows("intent_train.jsonl") if r[1] != "oos"])


def test_predicts_the_exact_label_of_every_fixture_message(model: IntentModel) -> None:
    test = _rows("intent_test.jsonl")
    predicted = [p.label for p in model.predict_batch([text for text, _ in test])]
    assert predicted == [None if label == "oos" else label for _, label in test]


def test_out_of_scope_message_is_rejected(model: IntentModel) -> None:
    prediction = model.predict("给我推荐一部电影")
    assert prediction.label is None
    assert prediction.is_oos is True
    assert prediction.ranking[0][0] == "oos"


def test_prediction_shape(model: IntentModel) -> None:
    prediction = model.predict("我要退款", top_k=3)
    assert isinstance(prediction, IntentPrediction)
    assert prediction.label == "refund"
    assert prediction.is_oos is False
    assert prediction.ranking[0][0] == "refund"
    assert len(prediction.ranking) == 3
    assert prediction.confidence == prediction.ranking[0][1]
    assert prediction.ranking == sorted(prediction.ranking, key=lambda r: -r[1])
    assert model.predict_batch([]) == []


def test_traditional_chinese_is_understood(model: IntentModel) -> None:
    assert model.predict("我想修改收貨地址").label == "change_address"


def test_metadata(model: IntentModel) -> None:
    meta = model.metadata
    assert meta.version == 1
    assert meta.n_examples == 40
    assert meta.labels == ["change_address", "human_agent", "order_status", "refund"]
    assert meta.oos_label == "oos"
    assert 0.0 <= meta.threshold < 1.0
    assert meta.trained_at.endswith("+00:00")


def test_threshold_without_oos_examples_rejects_off_topic_text(model_without_oos: IntentModel) -> None:
    assert model_without_oos.metadata.threshold > 0.3
    assert model_without_oos.predict("我要找人工客服").label == "human_agent"
    off_topic = model_without_oos.predict("what is the capital of France")
    assert (off_topic.label, off_topic.is_oos) == (None, True)


def test_bytes_round_trip_gives_identical_predictions(model: IntentModel) -> None:
    data = model.to_bytes()
    assert data.startswith(b"KEFU-MODEL intent 1\n")
    restored = IntentModel.from_bytes(data)
    texts = [text for text, _ in _rows("intent_test.jsonl")]
    assert restored.predict_batch(texts) == model.predict_batch(texts)
    assert restored.metadata == model.metadata


def test_from_bytes_rejects_other_kinds_and_versions(model: IntentModel) -> None:
    with pytest.raises(modelio.ModelFormatError, match=r"^not a kefu intent model$"):
        IntentModel.from_bytes(b"hello\n")
    newer = model.to_bytes().replace(b"KEFU-MODEL intent 1\n", b"KEFU-MODEL intent 9\n", 1)
    with pytest.raises(
        modelio.ModelFormatError, match=r"^intent model format 9 is not supported \(expected 1\); retrain the model$"
    ):
        IntentModel.from_bytes(newer)


def test_from_bytes_refuses_to_resolve_arbitrary_callables() -> None:
    evil = b"KEFU-MODEL intent 1\n" + pickle.dumps({"x": subprocess.Popen})
    with pytest.raises(
        modelio.ModelFormatError, match=r"^model file refers to subprocess\.Popen, which is not allowed$"
    ):
        IntentModel.from_bytes(evil)


def test_training_needs_two_labels() -> None:
    with pytest.raises(ValueError, match=r"^intent training needs examples of at least two labels$"):
        IntentModel.train([("a", "x"), ("b", "x")])


def test_held_out_split_is_stratified_and_deterministic() -> None:
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 2
    fit, held = held_out_split(labels, seed=0)
    assert sorted(np.concatenate([fit, held]).tolist()) == list(range(17))
    assert [labels[i] for i in held].count("a") == 2
    assert [labels[i] for i in held].count("b") == 1
    assert [labels[i] for i in held].count("c") == 0
    assert held.tolist() == held_out_split(labels, seed=0)[1].tolist()


def test_nlp_package_has_no_web_or_database_imports() -> None:
    code = (
        "import sys, kefu.nlp.intent, kefu.nlp.sentiment, kefu.nlp.evaluation.intent, "
        "kefu.nlp.evaluation.sentiment; "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'starlette', 'redis', 'kefu.core.db') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_oos_rule_choice_balanced_and_within_a_loss_budget() -> None:
    from kefu.nlp.intent_threshold import _best_rule

    # six in-scope rows (the last two wrong anyway) and four OOS rows
    p_best = np.array([0.9, 0.8, 0.7, 0.35, 0.3, 0.2, 0.5, 0.3, 0.25, 0.9])
    p_oos = np.array([0.05, 0.1, 0.2, 0.5, 0.1, 0.1, 0.4, 0.6, 0.7, 0.05])
    correct = np.array([True, True, True, True, False, False, False, False, False, False])
    gold_oos = np.array([False] * 6 + [True] * 4)
    balanced = _best_rule(p_best, p_oos, correct, gold_oos, None)
    assert (balanced.margin, balanced.threshold) == (-0.3, 0.0)
    budget = _best_rule(p_best, p_oos, correct, gold_oos, 0.0)
    assert (budget.margin, budget.threshold) == (0.2, 0.0)  # row 3 (correct) needs margin > 0.15


def test_oos_examples_are_split_into_parts_and_summed_back() -> None:
    from kefu.nlp.intent_threshold import PART_SEP, merge_parts, oos_parts

    rng = np.random.default_rng(0)
    centres = np.eye(4, 8)  # four well-separated groups of OOS vectors, 60 each
    vectors = np.vstack([c + 0.01 * rng.standard_normal((60, 8)) for c in centres])
    labels = ["oos"] * 240 + ["refund"] * 10
    vectors = np.vstack([vectors, np.ones((10, 8))])
    parts = oos_parts(labels, vectors, "oos", seed=0)
    assert parts[240:] == ["refund"] * 10
    names = sorted(set(parts[:240]))
    assert len(names) == 4 and all(n.startswith("oos" + PART_SEP) for n in names)  # 240 // 50 parts
    assert all(len(set(parts[i * 60 : (i + 1) * 60])) == 1 for i in range(4))  # each group is one part
    few = [*labels[:49], "refund"]  # 49 OOS examples: fewer than two parts' worth, left as they are
    assert oos_parts(few, vectors[:50], "oos", seed=0) == few

    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.1, 0.1, 0.3]])
    merged, classes = merge_parts(probs, [f"oos{PART_SEP}0", "refund", f"oos{PART_SEP}1", "where"])
    assert classes == ["oos", "refund", "where"]
    np.testing.assert_allclose(merged, [[0.4, 0.2, 0.4], [0.6, 0.1, 0.3]])


def test_a_model_with_many_oos_examples_reports_the_oos_label_only() -> None:
    rows = _rows("intent_train.jsonl")
    oos = [t for t, label in rows if label == "oos"]
    many = rows + [(f"{t} {i}", "oos") for i in range(120 // max(len(oos), 1) + 1) for t in oos]
    assert sum(label == "oos" for _, label in many) >= 100  # enough for two parts
    trained = IntentModel.train(many, oos_label="oos")
    predictions = trained.predict_batch([t for t, _ in _rows("intent_test.jsonl")], top_k=50)
    labels = {name for p in predictions for name, _ in p.ranking}
    assert "oos" in labels and not any("\x1f" in name for name in labels)
    assert all(abs(sum(score for _, score in p.ranking) - 1.0) < 1e-5 for p in predictions)
