"""Out-of-scope threshold, calibrated on a held-out slice of the training examples (never on test data).

The ensemble is fitted on ~80 % of the examples (stratified by label) and scores the other ~20 %:
- with OOS examples (an `oos_label`), the threshold maximises the balanced held-out score
  ½·(in-scope accuracy, where a rejection counts as wrong) + ½·(OOS recall);
- without them, it is the confidence below which the least confident `IN_SCOPE_REJECT` share of the
  held-out in-scope examples falls (there is nothing else to calibrate against).
"""

from __future__ import annotations

import numpy as np

from kefu.nlp.intent_ensemble import EnsembleConfig, IntentEnsemble

HELD_OUT_SHARE = 0.2
IN_SCOPE_REJECT = 0.05


def calibrate(texts: list[str], vectors: np.ndarray, labels: list[str], *, oos_label: str | None,
              config: EnsembleConfig, seed: int) -> float:
    fit_idx, held_idx = held_out_split(labels, seed)
    if len(held_idx) == 0 or len({labels[i] for i in fit_idx}) < 2:
        return 0.0
    ensemble = IntentEnsemble.fit([texts[i] for i in fit_idx], vectors[fit_idx],
                                  [labels[i] for i in fit_idx], config)
    probs = ensemble.proba([texts[i] for i in held_idx], vectors[held_idx])
    top = ensemble.classes[probs.argmax(axis=1)]
    confidence = probs.max(axis=1)
    gold = np.asarray([labels[i] for i in held_idx])
    gold_oos = gold == oos_label if oos_label is not None else np.zeros(len(gold), dtype=bool)
    if not gold_oos.any():
        return float(np.quantile(confidence[~gold_oos], IN_SCOPE_REJECT))
    return _best_balanced(confidence, top == gold, top == oos_label, gold_oos)


def _best_balanced(confidence: np.ndarray, correct: np.ndarray, top_is_oos: np.ndarray,
                   gold_oos: np.ndarray) -> float:
    candidates = np.unique(np.concatenate([[0.0], confidence]))
    best, best_score = 0.0, -1.0
    for t in candidates:
        rejected = top_is_oos | (confidence < t)
        in_scope_acc = np.mean(correct[~gold_oos] & ~rejected[~gold_oos]) if (~gold_oos).any() else 0.0
        score = 0.5 * in_scope_acc + 0.5 * np.mean(rejected[gold_oos])
        if score > best_score + 1e-12:
            best, best_score = float(t), float(score)
    return best


def held_out_split(labels: list[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified: ~HELD_OUT_SHARE of each label with at least 3 examples goes to the held-out part."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    fit, held = [], []
    for label in sorted(by_label):
        idx = rng.permutation(by_label[label])
        n_held = max(1, round(len(idx) * HELD_OUT_SHARE)) if len(idx) >= 3 else 0
        held.extend(idx[:n_held])
        fit.extend(idx[n_held:])
    return np.asarray(sorted(fit), dtype=int), np.asarray(sorted(held), dtype=int)
