"""What an intent model knows about its own examples: per intent, how often it recognises them when each is
left out of training (leave-one-out), which intents it confuses (with example questions), and which intents
need more examples. Computed from the account's own examples only.

Up to `LOO_MAX` examples every example is predicted by an ensemble trained on all the others; above that,
by `FOLDS`-fold cross-validation (each example predicted by an ensemble trained without its fold) — a model
per example would take minutes there. Both use the account's shipped ensemble configuration, no fine-tuned
copy and no out-of-scope rule: the question is which intent the examples look like.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kefu.nlp.intent_ensemble import EnsembleConfig, IntentEnsemble

LOO_MAX = 200
FOLDS = 5
FEW_EXAMPLES = 5  # fewer: suggest more examples
WEAK_ACCURACY = 0.8  # recognised less often than this when left out: suggest more (and more varied) examples
CONFUSION_SHARE = 0.2  # an intent's examples taken for one other intent this often: the two are confused
MAX_QUESTIONS = 3  # example questions shown per confusion

# suggestion reasons (the UI words them in the admin's language)
FEW, WEAK, CONFUSED, UNCHECKED = "few_examples", "often_missed", "confused", "unchecked"


@dataclass(frozen=True)
class IntentHealth:
    label: str
    examples: int
    checked: int  # examples predicted without themselves (0: a single example cannot be left out)
    accuracy: float | None  # share of the checked examples recognised as this intent
    confidence: float | None  # mean probability the model gave this intent on its left-out examples


@dataclass(frozen=True)
class Confusion:
    label: str  # the examples' intent
    taken_for: str  # what the model said instead
    count: int
    share: float  # of the intent's checked examples
    questions: list[str]  # up to MAX_QUESTIONS of those examples


@dataclass(frozen=True)
class Suggestion:
    label: str
    reason: str  # FEW | WEAK | CONFUSED | UNCHECKED
    other: str | None = None  # CONFUSED: the intent it is confused with


@dataclass(frozen=True)
class IntentReport:
    method: str  # "leave-one-out" | "5-fold"
    intents: list[IntentHealth]
    confusions: list[Confusion]  # most frequent first
    suggestions: list[Suggestion]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentReport:
        return cls(
            method=data["method"],
            intents=[IntentHealth(**i) for i in data["intents"]],
            confusions=[Confusion(**c) for c in data["confusions"]],
            suggestions=[Suggestion(**s) for s in data["suggestions"]],
        )


def diagnose(
    texts: list[str],
    vectors: np.ndarray,
    labels: list[str],
    *,
    config: EnsembleConfig | None = None,
    oos_label: str | None = None,
    seed: int = 0,
) -> IntentReport:
    """`vectors`: the texts' query embeddings. The OOS label's examples take part in training (they are
    what a message may be instead) but get no health line of their own."""
    cfg = config or EnsembleConfig()
    lab = np.asarray(labels)
    n = len(texts)
    folds = _folds(lab, seed) if n > LOO_MAX else [np.asarray([i]) for i in range(n)]
    predicted: list[str | None] = [None] * n
    own_p: list[float | None] = [None] * n
    for held in folds:
        keep = np.ones(n, dtype=bool)
        keep[held] = False
        if len(set(lab[keep])) < 2:
            continue
        idx = np.flatnonzero(keep)
        ens = IntentEnsemble.fit([texts[i] for i in idx], vectors[idx], list(lab[idx]), cfg)
        proba = ens.proba([texts[i] for i in held], vectors[held])
        classes = [str(c) for c in ens.classes]
        for row, i in zip(proba, held, strict=True):
            if labels[i] not in classes:  # its only example was left out: nothing to recognise it by
                continue
            predicted[i] = classes[int(row.argmax())]
            own_p[i] = float(row[classes.index(labels[i])])
    return _summarise(texts, labels, predicted, own_p, oos_label, "leave-one-out" if n <= LOO_MAX else f"{FOLDS}-fold")


def _folds(labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """Stratified: each label's examples dealt round-robin over the folds, in a seeded order."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(FOLDS)]
    for label in sorted(set(labels.tolist())):
        for j, i in enumerate(rng.permutation(np.flatnonzero(labels == label))):
            parts[j % FOLDS].append(int(i))
    return [np.asarray(sorted(p)) for p in parts if p]


def _summarise(
    texts: list[str],
    labels: list[str],
    predicted: list[str | None],
    own_p: list[float | None],
    oos_label: str | None,
    method: str,
) -> IntentReport:
    intents: list[IntentHealth] = []
    confusions: list[Confusion] = []
    suggestions: list[Suggestion] = []
    for label in sorted(set(labels) - {oos_label}):
        idx = [i for i, g in enumerate(labels) if g == label]
        checked = [i for i in idx if predicted[i] is not None]
        right = [i for i in checked if predicted[i] == label]
        acc = round(len(right) / len(checked), 4) if checked else None
        conf = round(float(np.mean([own_p[i] for i in checked])), 4) if checked else None
        intents.append(IntentHealth(label, len(idx), len(checked), acc, conf))
        wrong = Counter(str(predicted[i]) for i in checked if predicted[i] != label)
        for other, count in sorted(wrong.items(), key=lambda kv: (-kv[1], kv[0])):
            share = count / len(checked)
            if share >= CONFUSION_SHARE or (count >= 2 and share >= CONFUSION_SHARE / 2):
                questions = [texts[i] for i in checked if predicted[i] == other][:MAX_QUESTIONS]
                confusions.append(Confusion(label, other, count, round(share, 4), questions))
        if not checked:
            suggestions.append(Suggestion(label, UNCHECKED))
        elif len(idx) < FEW_EXAMPLES:
            suggestions.append(Suggestion(label, FEW))
        if acc is not None and acc < WEAK_ACCURACY:
            suggestions.append(Suggestion(label, WEAK))
    confusions.sort(key=lambda c: (-c.count, -c.share, c.label, c.taken_for))
    named = {s.label for s in suggestions}
    for c in confusions:
        if c.label not in named and c.taken_for != oos_label:
            suggestions.append(Suggestion(c.label, CONFUSED, c.taken_for))
            named.add(c.label)
    return IntentReport(method, intents, confusions, suggestions)
