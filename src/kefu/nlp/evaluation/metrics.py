"""Classification and latency metrics (plain functions over label lists; `None` = out of scope)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Label = str | None


def accuracy(gold: Sequence[Label], pred: Sequence[Label]) -> float:
    _check(gold, pred)
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[Label], pred: Sequence[Label]) -> float:
    """Unweighted mean of per-class F1 over the classes present in `gold` (None counts as a class)."""
    _check(gold, pred)
    classes = sorted({str(g) for g in gold})
    return float(np.mean([_f1(gold, pred, c) for c in classes])) if classes else 0.0


def _f1(gold: Sequence[Label], pred: Sequence[Label], cls: str) -> float:
    tp = sum(str(g) == cls and str(p) == cls for g, p in zip(gold, pred, strict=True))
    fp = sum(str(g) != cls and str(p) == cls for g, p in zip(gold, pred, strict=True))
    fn = sum(str(g) == cls and str(p) != cls for g, p in zip(gold, pred, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def oos_scores(gold_oos: Sequence[bool], pred_oos: Sequence[bool]) -> dict[str, float]:
    """Recall and precision of the out-of-scope decision."""
    tp = sum(g and p for g, p in zip(gold_oos, pred_oos, strict=True))
    n_gold, n_pred = sum(gold_oos), sum(pred_oos)
    return {
        "oos_recall": tp / n_gold if n_gold else 0.0,
        "oos_precision": tp / n_pred if n_pred else 0.0,
    }


def in_scope_accuracy(gold: Sequence[Label], pred: Sequence[Label]) -> float:
    """Accuracy over the rows whose gold label is in scope (not None)."""
    pairs = [(g, p) for g, p in zip(gold, pred, strict=True) if g is not None]
    return sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 of per-message latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"latency_p50_ms": 0.0, "latency_p95_ms": 0.0}
    arr = np.asarray(seconds) * 1000.0
    return {"latency_p50_ms": float(np.percentile(arr, 50)), "latency_p95_ms": float(np.percentile(arr, 95))}


def _check(gold: Sequence[Label], pred: Sequence[Label]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
