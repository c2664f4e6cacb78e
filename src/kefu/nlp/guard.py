"""The training guard: ship the blend only when it beats the sparse-only baseline on the account's own data.

A trained model's blend (TF-IDF + embeddings, maybe a kNN vote) was chosen on public data sets; on a given
account's data it can do worse than plain TF-IDF + LinearSVC. So training holds out a stratified calibration
slice of the training examples, fits both the blend and the sparse-only configuration on the rest, scores
both on the slice, and keeps the blend only when it is strictly more accurate there. Whatever wins is then
trained on all the examples. The outcome is recorded with the model (`GuardResult.as_dict`):
`{"chosen": "ensemble"|"baseline", "slice_size", "ensemble_accuracy", "baseline_accuracy", "reason"}`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from kefu.nlp.intent_ensemble import EnsembleConfig

ENSEMBLE, BASELINE = "ensemble", "baseline"
MIN_SLICE = 30  # fewer calibration rows than this: no guard (the comparison would be noise)
SLICE_SHARE = 0.15  # sentiment's calibration slice; intent models reuse their OOS calibration slice (20 %)


def sparse_only(config: EnsembleConfig, *, svm_c: float | None = None) -> EnsembleConfig:
    """The same SVM over the TF-IDF blocks alone: no embedding block, no kNN vote."""
    return replace(config, dense_weight=0.0, knn_weight=0.0, svm_c=config.svm_c if svm_c is None else svm_c)


def is_sparse_only(config: EnsembleConfig) -> bool:
    return config.dense_weight <= 0 and config.knn_weight <= 0


@dataclass(frozen=True)
class GuardResult:
    chosen: str  # ENSEMBLE | BASELINE
    slice_size: int
    ensemble_accuracy: float | None
    baseline_accuracy: float | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "slice_size": self.slice_size,
            "ensemble_accuracy": self.ensemble_accuracy,
            "baseline_accuracy": self.baseline_accuracy,
            "reason": self.reason,
        }


def decide(ensemble_accuracy: float, baseline_accuracy: float, slice_size: int) -> GuardResult:
    """The blend only when strictly better on the slice; a tie ships the simpler baseline."""
    e, b = round(ensemble_accuracy, 4), round(baseline_accuracy, 4)
    if ensemble_accuracy > baseline_accuracy:
        return GuardResult(ENSEMBLE, slice_size, e, b, "the ensemble beat the sparse-only baseline on the slice")
    return GuardResult(BASELINE, slice_size, e, b, "the ensemble was not better than the sparse-only baseline")


def too_few(slice_size: int) -> GuardResult:
    reason = f"too few examples for a calibration slice ({slice_size} < {MIN_SLICE}): no guard"
    return GuardResult(ENSEMBLE, slice_size, None, None, reason)


def sparse_config() -> GuardResult:
    """The configuration asked for is sparse-only already: it is the baseline, nothing to compare."""
    return GuardResult(BASELINE, 0, None, None, "the configuration is sparse-only: it is the baseline")
