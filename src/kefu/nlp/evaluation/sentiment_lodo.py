"""`kefu eval sentiment-lodo`: choose the sentiment blend by leave-one-domain-out validation.

Each domain is a folder with train.jsonl, dev.jsonl (or val.jsonl) and test.jsonl, or one labelled file that
is split here, stratified and with a fixed seed, into train / dev / test (`split_file`). Per domain the
training split is sampled down to `max_train` rows and the dev split to `max_dev` rows (fixed seed).

1. Every candidate blend is trained on each domain's training sample and scored on that domain's dev sample.
2. For each held-out domain D, the candidate with the best mean dev accuracy over the *other* domains is
   trained on D's training sample and scored once on D's test split, next to the TF-IDF + LinearSVC baseline
   trained on the same rows in the same process.
3. `chosen_overall` is the candidate with the best mean dev accuracy over all domains: what the shipped
   defaults (`kefu.nlp.sentiment.DEFAULT_CONFIG`, `EVAL_CONFIG`) are set from.

No test split is read before step 2, and none of them takes part in any choice. Candidates are trained
without the training guard (`SentimentModel.train(guard=False)`), so the blends themselves are compared.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kefu.nlp.embed import Embedder
from kefu.nlp.evaluation import metrics
from kefu.nlp.evaluation.baseline import TfidfSvmBaseline
from kefu.nlp.evaluation.data import DataError, Labelled, drop_empty, load_labelled
from kefu.nlp.intent_ensemble import EnsembleConfig
from kefu.nlp.sentiment import SentimentModel

SEED = 0
SPLIT_SHARES = (0.6, 0.2, 0.2)  # train / dev / test of a domain given as a single file


def _cfg(dense: float, c: float, knn: float = 0.0, temperature: float = 3.0) -> EnsembleConfig:
    return EnsembleConfig(dense_weight=dense, svm_c=c, svm_temperature=temperature, knn_weight=knn)


#: the blends compared; the first two are sparse-only (C = 1.0 is exactly the baseline's classifier)
CANDIDATES: tuple[EnsembleConfig, ...] = (
    _cfg(0.0, 1.0),
    _cfg(0.0, 0.5),
    _cfg(1.0, 0.5),
    _cfg(2.0, 0.5),
    _cfg(4.0, 0.5),
    _cfg(1.0, 1.0),
    _cfg(2.0, 1.0),
    _cfg(2.0, 0.25),
    _cfg(4.0, 0.25),
    _cfg(2.0, 0.5, knn=0.2),
    _cfg(4.0, 0.5, knn=0.3, temperature=5.0),
)


@dataclass(frozen=True)
class Domain:
    name: str
    train: list[Labelled]
    dev: list[Labelled]
    test: list[Labelled]


def load_domain(name: str, path: Path, *, max_train: int, max_dev: int, seed: int = SEED) -> Domain:
    """A folder of train/dev(val)/test.jsonl, or one file split by `split_file`; train and dev sampled down."""
    if path.is_dir():
        dev_path = path / "dev.jsonl" if (path / "dev.jsonl").is_file() else path / "val.jsonl"
        train, dev, test = (load_labelled(p) for p in (path / "train.jsonl", dev_path, path / "test.jsonl"))
    elif path.is_file():
        train, dev, test = split_file(load_labelled(path), seed)
    else:
        raise DataError(f"{path}: no such file or folder")
    return Domain(name, _sample(drop_empty(train), max_train, seed), _sample(dev, max_dev, seed), test)


def split_file(rows: list[Labelled], seed: int = SEED) -> tuple[list[Labelled], list[Labelled], list[Labelled]]:
    """Stratified by label: per label a fixed permutation, cut at `SPLIT_SHARES`; file order kept within parts."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    labels = sorted({r.label for r in rows})
    for label in labels:
        idx = rng.permutation([i for i, r in enumerate(rows) if r.label == label])
        n_dev, n_test = round(len(idx) * SPLIT_SHARES[1]), round(len(idx) * SPLIT_SHARES[2])
        parts[2].extend(idx[:n_test])
        parts[1].extend(idx[n_test : n_test + n_dev])
        parts[0].extend(idx[n_test + n_dev :])
    train, dev, test = ([rows[i] for i in sorted(part)] for part in parts)
    return train, dev, test


def _sample(rows: list[Labelled], limit: int, seed: int) -> list[Labelled]:
    if limit <= 0 or len(rows) <= limit:
        return rows
    keep = np.random.default_rng(seed).choice(len(rows), size=limit, replace=False)
    return [rows[i] for i in sorted(keep)]


def run_lodo(
    domains: list[Domain], *, embedder: Embedder, candidates: tuple[EnsembleConfig, ...] = CANDIDATES
) -> dict[str, Any]:
    if len(domains) < 2:
        raise ValueError("leave-one-domain-out needs at least two domains")
    names = [d.name for d in domains]
    dev_acc = np.zeros((len(candidates), len(domains)))
    for j, domain in enumerate(domains):
        for i, config in enumerate(candidates):
            _say(f"[{domain.name}] candidate {i + 1}/{len(candidates)}, dev {len(domain.dev)} rows")
            model = SentimentModel.train(_pairs(domain.train), embedder=embedder, config=config, guard=False)
            dev_acc[i, j] = metrics.accuracy([r.label for r in domain.dev], model.predict([r.text for r in domain.dev]))
    folds = []
    for j, domain in enumerate(domains):
        others = [k for k in range(len(domains)) if k != j]
        best = int(np.argmax(dev_acc[:, others].mean(axis=1)))
        folds.append(_fold(domain, candidates[best], float(dev_acc[best, others].mean()), embedder))
    overall = int(np.argmax(dev_acc.mean(axis=1)))
    return {
        "domains": names,
        "candidates": [
            {
                "config": asdict(config),
                "dev_accuracy": {name: round(float(dev_acc[i, j]), 4) for j, name in enumerate(names)},
                "mean_dev_accuracy": round(float(dev_acc[i].mean()), 4),
            }
            for i, config in enumerate(candidates)
        ],
        "folds": folds,
        "mean_accuracy": round(float(np.mean([f["accuracy"] for f in folds])), 4),
        "mean_baseline_accuracy": round(float(np.mean([f["baseline_accuracy"] for f in folds])), 4),
        "chosen_overall": asdict(candidates[overall]),
        "chosen_overall_mean_dev_accuracy": round(float(dev_acc[overall].mean()), 4),
    }


def _fold(domain: Domain, config: EnsembleConfig, others_dev: float, embedder: Embedder) -> dict[str, Any]:
    _say(f"[{domain.name}] held out: training the chosen blend and the baseline, scoring {len(domain.test)} test rows")
    texts, gold = [r.text for r in domain.test], [r.label for r in domain.test]
    start = time.perf_counter()
    pred = SentimentModel.train(_pairs(domain.train), embedder=embedder, config=config, guard=False).predict(texts)
    seconds = time.perf_counter() - start
    baseline = TfidfSvmBaseline.fit([r.text for r in domain.train], [r.label for r in domain.train])
    base_pred = baseline.predict(texts)
    return {
        "domain": domain.name,
        "chosen": asdict(config),
        "chosen_dev_accuracy_other_domains": round(others_dev, 4),
        "accuracy": round(metrics.accuracy(gold, pred), 4),
        "macro_f1": round(metrics.macro_f1(gold, pred), 4),
        "baseline_accuracy": round(metrics.accuracy(gold, base_pred), 4),
        "baseline_macro_f1": round(metrics.macro_f1(gold, base_pred), 4),
        "n_train": len(domain.train),
        "n_test": len(domain.test),
        "seconds": round(seconds, 1),
    }


def _pairs(rows: list[Labelled]) -> list[tuple[str, str]]:
    return [(r.text, r.label) for r in rows]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
