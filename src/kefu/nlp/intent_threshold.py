"""Out-of-scope decision and its calibration on a held-out slice of the training examples (never test data).

A message is out of scope when
- (with an OOS label) the OOS class beats the best in-scope label by more than `margin`, or
- the best in-scope label's probability is below `threshold`.

OOS examples cover many unrelated requests, which one linear class separates badly from the in-scope
intents around them; they are split into parts by k-means on their embeddings (`oos_parts`, about one
part per 50 examples, at most 40), each part a class of its own, and the parts' probabilities are summed
back into the OOS label (`merge_parts`) wherever probabilities are read.

Calibration fits the ensemble on ~80 % of the examples (stratified by label) and scores the other ~20 %:
- with OOS examples, (margin, threshold) give the most held-out OOS recall among the rules that lose at
  most `max_in_scope_loss` (default `DEFAULT_MAX_IN_SCOPE_LOSS`, 2 points) of held-out in-scope accuracy
  compared with never rejecting: a customer the bot wrongly refuses costs more than a missed hand-off,
  which the "out of scope twice" and low-confidence rules still catch. `max_in_scope_loss=None` selects
  the balanced rule instead: ½·(in-scope accuracy, a rejection counting as wrong) + ½·(OOS recall);
- without OOS examples, the threshold is the confidence below which the least confident `IN_SCOPE_REJECT`
  share of held-out examples falls (there is nothing else to calibrate against).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kefu.nlp.intent_ensemble import EnsembleConfig, IntentEnsemble

HELD_OUT_SHARE = 0.2
IN_SCOPE_REJECT = 0.05
DEFAULT_MAX_IN_SCOPE_LOSS = 0.02
PART_SEP = "\x1f"  # "<oos label>\x1f<part>": never in an intent name (control character)
OOS_PER_PART = 50
MAX_OOS_PARTS = 40
_MARGINS = np.round(np.arange(-0.3, 1.01, 0.1), 2)
_THRESHOLDS = np.round(np.arange(0.0, 0.91, 0.05), 2)


#: (fit texts, fit labels, ensemble classes, held-out texts, the ensemble's held-out distribution) → the blend
Blend = Callable[[list[str], list[str], np.ndarray, list[str], np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OosRule:
    threshold: float
    margin: float  # only used with an OOS label; 1.0 = the OOS class never wins by itself


def oos_parts(labels: list[str], vectors: np.ndarray, oos_label: str | None, seed: int) -> list[str]:
    """`labels` with each OOS example relabelled to its k-means part (unchanged when there are too few)."""
    idx = [i for i, label in enumerate(labels) if label == oos_label]
    k = min(MAX_OOS_PARTS, len(idx) // OOS_PER_PART)
    if k < 2:
        return list(labels)
    from sklearn.cluster import KMeans

    parts = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(np.asarray(vectors[idx], dtype=np.float64))
    out = list(labels)
    for i, part in zip(idx, parts, strict=True):
        out[i] = f"{oos_label}{PART_SEP}{part}"
    return out


def base_label(label: str) -> str:
    return label.split(PART_SEP, 1)[0]


def merge_parts(probs: np.ndarray, classes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Sum the columns of the OOS parts into one column of the OOS label (classes keep their order)."""
    if not any(PART_SEP in c for c in classes):
        return probs, classes
    merged: list[str] = []
    columns: dict[str, list[int]] = {}
    for i, c in enumerate(classes):
        name = base_label(c)
        if name not in columns:
            merged.append(name)
            columns[name] = []
        columns[name].append(i)
    out = np.stack([probs[:, columns[name]].sum(axis=1) for name in merged], axis=1)
    return out, merged


def split_oos(probs: np.ndarray, oos_index: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(best in-scope class index, its probability, OOS probability) per row."""
    in_scope = probs.copy()
    if oos_index is not None:
        in_scope[:, oos_index] = -1.0
    best = in_scope.argmax(axis=1)
    p_oos = probs[:, oos_index] if oos_index is not None else np.zeros(len(probs))
    return best, in_scope.max(axis=1), p_oos


def rejected(p_best: np.ndarray, p_oos: np.ndarray, rule: OosRule) -> np.ndarray:
    return (p_oos - p_best > rule.margin) | (p_best < rule.threshold)


@dataclass(frozen=True)
class HeldOut:
    """An ensemble fitted on the calibration's fit part and its distribution over the held-out part."""

    fit_idx: np.ndarray
    held_idx: np.ndarray
    ensemble: IntentEnsemble
    proba: np.ndarray  # (len(held_idx), n_classes) over `ensemble.classes`


def held_out(
    texts: list[str], vectors: np.ndarray, labels: list[str], config: EnsembleConfig, seed: int
) -> HeldOut | None:
    """None when there is nothing to hold out (too few examples per label)."""
    fit_idx, held_idx = held_out_split(labels, seed)
    if len(held_idx) == 0 or len({labels[i] for i in fit_idx}) < 2:
        return None
    fit_texts, fit_labels = [texts[i] for i in fit_idx], [labels[i] for i in fit_idx]
    ensemble = IntentEnsemble.fit(fit_texts, vectors[fit_idx], fit_labels, config)
    return HeldOut(fit_idx, held_idx, ensemble, ensemble.proba([texts[i] for i in held_idx], vectors[held_idx]))


def in_scope_accuracy(held: HeldOut, labels: list[str], oos_label: str | None) -> tuple[float, int]:
    """(accuracy of the best in-scope label over the held-out rows whose gold label is in scope, their count);
    no rejection rule applied."""
    probs, classes = merge_parts(held.proba, [str(c) for c in held.ensemble.classes])
    best, _, _ = split_oos(probs, classes.index(oos_label) if oos_label in classes else None)
    gold = np.asarray([base_label(labels[i]) for i in held.held_idx])
    in_scope = gold != oos_label
    n = int(in_scope.sum())
    return (float((np.asarray(classes)[best] == gold)[in_scope].mean()) if n else 0.0), n


def calibrate(
    texts: list[str],
    vectors: np.ndarray,
    labels: list[str],
    *,
    oos_label: str | None,
    config: EnsembleConfig,
    seed: int,
    max_in_scope_loss: float | None = DEFAULT_MAX_IN_SCOPE_LOSS,
    blend: Blend | None = None,
    prefit: HeldOut | None = None,
) -> OosRule:
    """`labels` may hold OOS parts (`oos_parts`); the rule is about the OOS label as a whole. `blend`: the
    model blends the ensemble with a second classifier — called with (fit texts, fit labels, the ensemble's
    classes, held-out texts, the ensemble's held-out distribution), it trains that classifier on the fit part
    and returns the blended held-out distribution, on which the rule is calibrated. `prefit`: `held_out(...)`
    of the same arguments, already computed (the training guard's)."""
    held = prefit or held_out(texts, vectors, labels, config, seed)
    if held is None:
        return OosRule(threshold=0.0, margin=0.0)
    fit_idx, held_idx, ensemble, p_held = held.fit_idx, held.held_idx, held.ensemble, held.proba
    if blend is not None:
        fit_texts, fit_labels = [texts[i] for i in fit_idx], [labels[i] for i in fit_idx]
        p_held = blend(fit_texts, fit_labels, ensemble.classes, [texts[i] for i in held_idx], p_held)
    probs, classes = merge_parts(p_held, [str(c) for c in ensemble.classes])
    oos_index = classes.index(oos_label) if oos_label in classes else None
    best, p_best, p_oos = split_oos(probs, oos_index)
    gold = np.asarray([base_label(labels[i]) for i in held_idx])
    gold_oos = gold == oos_label
    if oos_index is None or not gold_oos.any():
        return OosRule(threshold=float(np.quantile(p_best[~gold_oos], IN_SCOPE_REJECT)), margin=0.0)
    correct = np.asarray(classes)[best] == gold
    return _best_rule(p_best, p_oos, correct, gold_oos, max_in_scope_loss)


def _best_rule(
    p_best: np.ndarray, p_oos: np.ndarray, correct: np.ndarray, gold_oos: np.ndarray, max_in_scope_loss: float | None
) -> OosRule:
    floor = correct[~gold_oos].mean() - (max_in_scope_loss or 0.0)
    best, best_key = OosRule(0.0, 1.0), (-1.0, -1.0)
    for margin in _MARGINS:
        for threshold in _THRESHOLDS:
            rule = OosRule(float(threshold), float(margin))
            rej = rejected(p_best, p_oos, rule)
            in_scope_acc, recall = float((correct & ~rej)[~gold_oos].mean()), float(rej[gold_oos].mean())
            if max_in_scope_loss is None:
                key = (in_scope_acc + recall, recall)
            elif in_scope_acc >= floor:
                key = (recall, in_scope_acc)
            else:
                continue
            if key > best_key:
                best, best_key = rule, key
    return best


def held_out_split(labels: list[str], seed: int, share: float = HELD_OUT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Stratified: ~`share` of each label with at least 3 examples goes to the held-out part."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    fit: list[int] = []
    held: list[int] = []
    for label in sorted(by_label):
        idx = rng.permutation(by_label[label])
        n_held = max(1, round(len(idx) * share)) if len(idx) >= 3 else 0
        held.extend(idx[:n_held])
        fit.extend(idx[n_held:])
    return np.asarray(sorted(fit), dtype=int), np.asarray(sorted(held), dtype=int)
