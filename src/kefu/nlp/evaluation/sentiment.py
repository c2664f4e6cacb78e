"""`kefu eval sentiment` runner: a sentiment model trained on --train next to the TF-IDF + LinearSVC baseline.

The model is `SentimentModel` (joint TF-IDF + embedding SVM) trained with its guard on, as the product trains
it: unless the blend beats the sparse-only baseline on a held-out 15 % of --train, the sparse-only model is
what gets scored (the JSON's `guard` block says which). With `dense=False` it uses the sparse block only,
which is how very large training sets of long reviews stay affordable on a small machine. Labels are
whatever the files use (0/1, negative/neutral/positive, …).
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from typing import Any

from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.evaluation import metrics
from kefu.nlp.evaluation.baseline import TfidfSvmBaseline
from kefu.nlp.evaluation.data import Labelled, drop_empty
from kefu.nlp.evaluation.timing import per_message_seconds
from kefu.nlp.sentiment import EVAL_CONFIG, SentimentModel

LATENCY_SAMPLE = 200


def run_sentiment_eval(
    train: list[Labelled],
    test: list[Labelled],
    *,
    embedder: Embedder | None = None,
    dense: bool = True,
    fine_tune: bool = False,
) -> dict[str, Any]:
    config = EVAL_CONFIG if dense else replace(EVAL_CONFIG, dense_weight=0.0)
    train = drop_empty(train)
    features = "sparse + dense" if dense else "sparse only"
    _say(f"training sentiment model on {len(train)} examples ({features})")
    start = time.perf_counter()
    examples = [(r.text, r.label) for r in train]
    model = SentimentModel.train(examples, embedder=embedder, config=config, fine_tune=fine_tune)
    train_s = time.perf_counter() - start
    texts, gold = [r.text for r in test], [r.label for r in test]
    _say(f"predicting {len(test)} test messages")
    pred = model.predict(texts)
    live = SentimentModel.from_bytes(model.to_bytes(), embedder=get_embedder())
    seconds = per_message_seconds(lambda t: live.predict([t]), texts[:LATENCY_SAMPLE])
    result = {
        "n_train": len(train),
        "n_test": len(test),
        "train_seconds": round(train_s, 2),
        "dense": dense,
        "fine_tuned": model.finetuned,
        "guard": model.metadata.get("guard", {}),  # ensemble or sparse-only shipped, the two slice accuracies
        **_scores(gold, pred),
        **_ms(seconds),
    }
    return result | _baseline(train, texts, gold)


def _baseline(train: list[Labelled], texts: list[str], gold: list[str]) -> dict[str, Any]:
    _say("training the TF-IDF + LinearSVC baseline")
    start = time.perf_counter()
    baseline = TfidfSvmBaseline.fit([r.text for r in train], [r.label for r in train])
    train_s = time.perf_counter() - start
    seconds = per_message_seconds(lambda t: baseline.predict([t]), texts[:LATENCY_SAMPLE])
    out = {**_scores(gold, baseline.predict(texts)), **_ms(seconds), "train_seconds": round(train_s, 2)}
    return {f"baseline_{k}": v for k, v in out.items()}


def _scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    return {"accuracy": round(metrics.accuracy(gold, pred), 4), "macro_f1": round(metrics.macro_f1(gold, pred), 4)}


def _ms(seconds: list[float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in metrics.latency_ms(seconds).items()}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
