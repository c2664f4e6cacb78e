"""`kefu eval intent` runner: the intent model next to a TF-IDF + linear SVM baseline, in the same process.

Training sees only the train rows (the OOS threshold is calibrated on a slice of them). Accuracy counts every
test row; with an OOS label, a gold OOS row is right when the model rejects it. Without an OOS label the test
set has no OOS rows, so accuracy is measured on the top label and the share of rejections is reported apart.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.evaluation import metrics
from kefu.nlp.evaluation.baseline import TfidfSvmBaseline
from kefu.nlp.evaluation.data import Labelled, drop_empty
from kefu.nlp.evaluation.timing import per_message_seconds
from kefu.nlp.intent import IntentModel
from kefu.nlp.intent_threshold import DEFAULT_MAX_IN_SCOPE_LOSS

LATENCY_SAMPLE = 300


def run_intent_eval(
    train: list[Labelled],
    test: list[Labelled],
    *,
    oos_label: str | None,
    embedder: Embedder | None = None,
    seed: int = 0,
    max_in_scope_loss: float | None = DEFAULT_MAX_IN_SCOPE_LOSS,
    fine_tune: bool | None = None,
) -> dict[str, Any]:
    emb = embedder or get_embedder()
    train = drop_empty(train)
    _say(f"training intent model on {len(train)} examples")
    start = time.perf_counter()
    examples = [(r.text, r.label) for r in train]
    model = IntentModel.train(
        examples, oos_label=oos_label, embedder=emb, seed=seed, max_in_scope_loss=max_in_scope_loss, fine_tune=fine_tune
    )
    train_s = time.perf_counter() - start
    texts = [r.text for r in test]
    gold = [None if r.label == oos_label else r.label for r in test]
    _say(f"predicting {len(test)} test messages")
    preds = model.predict_batch(texts)
    result: dict[str, Any] = {
        "n_train": len(train),
        "n_test": len(test),
        "train_seconds": round(train_s, 2),
        "threshold": round(model.metadata.threshold, 4),
        "oos_margin": round(model.metadata.oos_margin, 4),
        "fine_tuned": model.finetuned,
        "guard": model.metadata.guard,  # ensemble or sparse-only shipped, and the two slice accuracies
    }
    if oos_label is None:
        result |= _scores([p.ranking[0][0] for p in preds], gold)
        result["rejected_share"] = round(sum(p.is_oos for p in preds) / max(len(preds), 1), 4)
    else:
        result |= _scores([p.label for p in preds], gold)
    result |= _latency(model, texts)
    return result | _baseline(train, test, gold, oos_label)


def _scores(pred: list[str | None], gold: list[str | None]) -> dict[str, float]:
    out = {
        "accuracy": metrics.accuracy(gold, pred),
        "macro_f1": metrics.macro_f1(gold, pred),
        "in_scope_accuracy": metrics.in_scope_accuracy(gold, pred),
    }
    if any(g is None for g in gold):
        out |= metrics.oos_scores([g is None for g in gold], [p is None for p in pred])
    return {k: round(v, 4) for k, v in out.items()}


def _latency(model: IntentModel, texts: list[str]) -> dict[str, float]:
    """Per-message latency with the real (uncached) embedder on a sample of the test texts."""
    live = IntentModel.from_bytes(model.to_bytes(), embedder=get_embedder())
    sample = texts[:LATENCY_SAMPLE]
    _say(f"timing {len(sample)} single-message predictions")
    seconds = per_message_seconds(live.predict, sample)
    return {k: round(v, 2) for k, v in metrics.latency_ms(seconds).items()}


def _baseline(
    train: list[Labelled], test: list[Labelled], gold: list[str | None], oos_label: str | None
) -> dict[str, Any]:
    _say("training the TF-IDF + LinearSVC baseline")
    start = time.perf_counter()
    baseline = TfidfSvmBaseline.fit([r.text for r in train], [r.label for r in train])
    train_s = time.perf_counter() - start
    texts = [r.text for r in test]
    pred = [None if p == oos_label else p for p in baseline.predict(texts)]
    scores = _scores(pred, gold)
    lat = metrics.latency_ms(per_message_seconds(lambda t: baseline.predict([t]), texts[:LATENCY_SAMPLE]))
    out = {f"baseline_{k}": v for k, v in scores.items()}
    out |= {f"baseline_{k}": round(v, 2) for k, v in lat.items()}
    return out | {"baseline_train_seconds": round(train_s, 2)}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
