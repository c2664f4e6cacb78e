"""Intent recognition per account, with out-of-scope (OOS) detection. See docs/nlp-intent-sentiment.md.

An ensemble of
- a linear SVM over sparse word + char n-gram TF-IDF of the normalised text joined with the (weighted)
  sentence embedding, its scores turned into a distribution by a softmax, and
- a nearest-neighbour vote over the training embeddings (mean of the top-3 cosine similarities per label).

Out of scope = the account's explicit OOS label (when examples for it were given; trained as k-means parts,
summed back) beats the best in-scope label by a margin, or the best in-scope probability is below a
threshold; both are calibrated on a held-out slice of the training examples (`intent_threshold`). With
few examples per intent (the median in-scope intent has fewer than `MIN_CALIBRATION`) nothing is
calibrated: out of scope only when the OOS label is the most probable (ADR 0007).
Prediction costs one embedding call per message (batched for `predict_batch`).

A trained model is immutable: retraining builds a new object, which the caller swaps in by reassigning its
reference (atomic in Python), so predictions in flight keep using the old model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kefu.nlp import finetune, modelio
from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.finetune import FineTuneConfig, FineTunedHead
from kefu.nlp.guard import ENSEMBLE, MIN_SLICE, GuardResult, decide, is_sparse_only, sparse_config, sparse_only, too_few
from kefu.nlp.intent_ensemble import EnsembleConfig, IntentEnsemble
from kefu.nlp.intent_threshold import (
    DEFAULT_MAX_IN_SCOPE_LOSS,
    HeldOut,
    OosRule,
    calibrate,
    held_out,
    in_scope_accuracy,
    merge_parts,
    oos_parts,
    rejected,
    split_oos,
)
from kefu.nlp.pipeline import Message, register_component

FORMAT_VERSION = 1
_KIND = "intent"
#: the OOS rule is calibrated on a held-out slice only when the median in-scope intent has this many examples;
#: below it (one held-out example per intent: a quantile read off noise) the rule is fixed (ADR 0007)
MIN_CALIBRATION = 5
#: few-shot rule, with the bundled e5 encoder only: out of scope when no training example has at least this
#: cosine similarity with the message. A constant of the encoder, not of the account: under 0.5 % of in-domain
#: questions fall below it in BANKING77 / SMP2017 *train* episodes of 1–10 examples per intent (ADR 0007)
SIMILARITY_FLOOR = 0.82
CALIBRATED, FEW_SHOT = "calibrated", "few-shot"


@dataclass(frozen=True)
class IntentPrediction:
    label: str | None  # None = out of scope
    confidence: float
    ranking: list[tuple[str, float]]  # top-k (label, score), best first; may include the OOS label
    is_oos: bool


@dataclass(frozen=True)
class IntentMetadata:
    version: int
    trained_at: str  # ISO 8601, UTC
    n_examples: int
    labels: list[str]  # in-scope labels, sorted
    threshold: float  # below this best in-scope probability: out of scope
    oos_label: str | None
    oos_margin: float = 0.0  # out of scope when P(oos label) - best in-scope probability > this
    config: dict[str, Any] = field(default_factory=dict)
    oos_on_blend: bool = False  # the OOS rule reads the blend with the fine-tuned copy, not the ensemble alone
    guard: dict[str, Any] = field(default_factory=dict)  # the training guard's outcome ({} = not run)
    oos_rule: str = CALIBRATED  # CALIBRATED on a held-out slice, or FEW_SHOT: the OOS label must win outright
    # with a fine-tuned copy: {"slice_size", "ensemble_accuracy", "blend_accuracy"} on the calibration slice
    finetune: dict[str, Any] = field(default_factory=dict)
    similarity_floor: float = 0.0  # few-shot rule: nearest training example less similar than this → OOS (0: off)


class IntentModel:
    """Use `IntentModel.train(...)` or `IntentModel.from_bytes(...)`; do not construct directly."""

    def __init__(
        self,
        ensemble: IntentEnsemble,
        metadata: IntentMetadata,
        embedder: Embedder,
        head: FineTunedHead | None = None,
        texts: list[str] | None = None,
    ) -> None:
        self._ensemble = ensemble
        self._texts = texts or []  # the training texts, in the order of the ensemble's kNN vectors
        self.metadata = metadata
        self._embedder = embedder
        self._head = head
        self._head_embedder = finetune.bundled(embedder) if head is not None else None

    @property
    def finetuned(self) -> bool:
        """Whether predictions blend in a fine-tuned copy of the embedder's upper layers (kefu.nlp.finetune)."""
        return self._head_embedder is not None

    def training_vectors(self) -> dict[str, np.ndarray]:
        """text → its (float16-rounded) query embedding, for the texts this model was trained on, when it keeps
        them (the kNN vote does): a retraining passes them as `known_vectors` and embeds only new texts."""
        vectors = self._ensemble.vectors
        if len(vectors) != len(self._texts):
            return {}
        return {t: vectors[i].astype(np.float32) for i, t in enumerate(self._texts)}

    @classmethod
    def train(
        cls,
        examples: list[tuple[str, str]],
        *,
        oos_label: str | None = None,
        embedder: Embedder | None = None,
        seed: int = 0,
        config: EnsembleConfig | None = None,
        version: int = 1,
        max_in_scope_loss: float | None = DEFAULT_MAX_IN_SCOPE_LOSS,
        finetune_config: FineTuneConfig | None = None,
        fine_tune: bool | None = None,
        guard_baseline: bool = True,
        extra_examples: Mapping[str, Sequence[str]] | None = None,
        known_vectors: Mapping[str, np.ndarray] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> IntentModel:
        """Trains on (text, label) pairs; `oos_label` names the label of out-of-scope examples, if any.

        OOS calibration: the most OOS recall within `max_in_scope_loss` of in-scope accuracy; None selects
        the balanced rule (see `intent_threshold`). `fine_tune`: None = when `finetune.wanted` says so
        (PyTorch installed, the bundled embedder, enough examples); True = always (an error if it cannot);
        False = never. `guard_baseline` (module kefu.nlp.guard): on the calibration slice, compare the ensemble
        with its sparse-only configuration on in-scope accuracy; unless the ensemble is strictly better the
        model ships the sparse-only configuration; the comparison goes to `metadata.guard`.

        `extra_examples`: label → texts saying what the intent is (the bot: its name and description, the
        questions and variants of the FAQ entries it links to); an intent with fewer than `MIN_CALIBRATION`
        examples gets them as more examples. With few examples per intent (the
        median in-scope intent has fewer than `MIN_CALIBRATION`) the OOS rule is not calibrated: out of scope
        only when the OOS label is the most probable (`metadata.oos_rule == FEW_SHOT`). `known_vectors`: text →
        query embedding already computed (`training_vectors()` of the previous model); only other texts are
        embedded. `progress`: receives the fine-tuning's progress lines ("fine-tuning: epoch 2/6, …")."""
        examples = _with_extras(examples, extra_examples)
        texts, labels = _validate(examples)
        emb = embedder or get_embedder()
        cfg = config or EnsembleConfig()
        vectors = _embed(emb, texts, known_vectors)
        few_shot = _few_shot(labels, oos_label)
        fit_labels = oos_parts(labels, vectors, oos_label, seed)
        base = finetune.wanted(emb, len(texts)) if fine_tune is None else finetune.required(emb) if fine_tune else None

        def fine_tuned(fit_texts: list[str], fit_labels: list[str], classes: np.ndarray) -> FineTunedHead:
            assert base is not None  # trained on the ensemble's (part) labels, so the columns align
            targets = np.searchsorted(classes, np.asarray(fit_labels))
            return FineTunedHead.train(
                base, fit_texts, targets, len(classes), config=finetune_config, seed=seed, progress=progress
            )

        blends: dict[tuple[str, ...], np.ndarray] = {}  # the slice's blend, computed once for both of its uses

        def blend(
            fit_texts: list[str], fit_labels: list[str], classes: np.ndarray, held: list[str], frozen: np.ndarray
        ) -> np.ndarray:
            assert base is not None
            key = tuple(held)
            if key not in blends:
                blends[key] = fine_tuned(fit_texts, fit_labels, classes).blend(base, held, frozen)
            return blends[key]

        # with OOS examples and a fine-tuned copy, the OOS rule is calibrated on the blend (a second
        # fine-tuning, on the calibration's fit slice): more OOS recall at the same in-scope accuracy
        oos_on_blend = base is not None and oos_label is not None and oos_label in labels
        outcome, prefit = None, None
        if guard_baseline:
            cfg, outcome, prefit = _guard(texts, vectors, fit_labels, oos_label, cfg, seed)
        compared: dict[str, Any] = {}
        if base is not None:  # is the fine-tuned copy better than the frozen ensemble on the slice?
            prefit = prefit or held_out(texts, vectors, fit_labels, cfg, seed)
            if prefit is not None:
                compared = _compare_blend(prefit, texts, fit_labels, oos_label, blend)
        if few_shot:
            rule = OosRule(threshold=0.0, margin=0.0)
        else:
            rule = calibrate(
                texts, vectors, fit_labels, oos_label=oos_label, config=cfg, seed=seed,
                max_in_scope_loss=max_in_scope_loss, blend=blend if oos_on_blend else None, prefit=prefit,
            )  # fmt: skip
        ensemble = IntentEnsemble.fit(texts, vectors, fit_labels, cfg)
        head = fine_tuned(texts, fit_labels, ensemble.classes) if base is not None else None
        metadata = IntentMetadata(
            version=version,
            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
            n_examples=len(texts),
            labels=sorted(set(labels) - {oos_label}),
            threshold=rule.threshold,
            oos_label=oos_label if oos_label in labels else None,
            oos_margin=rule.margin,
            config=asdict(cfg),
            oos_on_blend=oos_on_blend,
            guard=outcome.as_dict() if outcome is not None else {},
            oos_rule=FEW_SHOT if few_shot else CALIBRATED,
            similarity_floor=SIMILARITY_FLOOR if few_shot and finetune.bundled(emb) is not None else 0.0,
            finetune=compared,
        )
        return cls(ensemble, metadata, emb, head, texts)

    def predict(self, text: str, top_k: int = 5, *, vector: np.ndarray | None = None) -> IntentPrediction:
        """`vector`: the text's query embedding, if the caller already has it (then no embedding call)."""
        return self.predict_batch([text], top_k=top_k, vectors=None if vector is None else vector[None, :])[0]

    def predict_batch(
        self, texts: list[str], top_k: int = 5, *, vectors: np.ndarray | None = None
    ) -> list[IntentPrediction]:
        if not texts:
            return []
        vectors = self._embedder.embed_queries(texts) if vectors is None else vectors
        frozen = self._ensemble.proba(texts, vectors)
        fit_classes = [str(c) for c in self._ensemble.classes]
        meta = self.metadata
        # the label comes from the blend with the fine-tuned copy, when there is one
        blended = frozen
        if self._head is not None and self._head_embedder is not None:
            blended = self._head.blend(self._head_embedder, texts, frozen)
        probs, classes = merge_parts(blended, fit_classes)
        oos_index = classes.index(meta.oos_label) if meta.oos_label in classes else None
        best, p_best, p_oos = split_oos(probs, oos_index)
        # out of scope is decided on the distribution the rule was calibrated on
        rule_p_best, rule_p_oos = p_best, p_oos
        if self.finetuned and not meta.oos_on_blend:
            _, rule_p_best, rule_p_oos = split_oos(merge_parts(frozen, fit_classes)[0], oos_index)
        is_oos = rejected(rule_p_best, rule_p_oos, OosRule(meta.threshold, meta.oos_margin))
        if meta.similarity_floor > 0:
            is_oos |= self._ensemble.nearest(vectors) < meta.similarity_floor
        return [
            _prediction(classes, row, classes[b], float(pb), bool(o), top_k)
            for row, b, pb, o in zip(probs, best, p_best, is_oos, strict=True)
        ]

    def to_bytes(self) -> bytes:
        payload = {"metadata": asdict(self.metadata), "ensemble": self._ensemble.state(), "texts": self._texts}
        if self._head is not None:
            payload["finetuned"] = self._head.state()
        return modelio.dump(_KIND, FORMAT_VERSION, payload)

    @classmethod
    def from_bytes(cls, data: bytes, *, embedder: Embedder | None = None) -> IntentModel:
        payload = modelio.load(data, _KIND, FORMAT_VERSION)
        meta = payload["metadata"]
        metadata = IntentMetadata(**{**meta, "labels": list(meta["labels"])})
        head = FineTunedHead.from_state(payload["finetuned"]) if "finetuned" in payload else None
        ensemble = IntentEnsemble.from_state(payload["ensemble"])
        return cls(ensemble, metadata, embedder or get_embedder(), head, list(payload.get("texts", [])))


def _prediction(
    classes: list[str], row: np.ndarray, best: str, p_best: float, is_oos: bool, top_k: int
) -> IntentPrediction:
    ranking = [(classes[i], round(float(row[i]), 6)) for i in np.argsort(-row)[:top_k]]
    return IntentPrediction(label=None if is_oos else best, confidence=round(p_best, 6), ranking=ranking, is_oos=is_oos)


def _guard(
    texts: list[str],
    vectors: np.ndarray,
    labels: list[str],
    oos_label: str | None,
    config: EnsembleConfig,
    seed: int,
) -> tuple[EnsembleConfig, GuardResult, HeldOut | None]:
    """(the configuration to ship, the comparison, the winner's calibration fit for `calibrate` to reuse)."""
    if is_sparse_only(config):
        return config, sparse_config(), None
    ensemble = held_out(texts, vectors, labels, config, seed)
    n = in_scope_accuracy(ensemble, labels, oos_label)[1] if ensemble is not None else 0
    if ensemble is None or n < MIN_SLICE:
        return config, too_few(n), ensemble
    baseline_config = sparse_only(config)
    baseline = held_out(texts, vectors, labels, baseline_config, seed)
    assert baseline is not None  # the same split as the ensemble's
    outcome = decide(
        in_scope_accuracy(ensemble, labels, oos_label)[0], in_scope_accuracy(baseline, labels, oos_label)[0], n
    )
    return (config, outcome, ensemble) if outcome.chosen == ENSEMBLE else (baseline_config, outcome, baseline)


def _with_extras(examples: list[tuple[str, str]], extras: Mapping[str, Sequence[str]] | None) -> list[tuple[str, str]]:
    """More examples for each intent with fewer than MIN_CALIBRATION: the texts that say what it is."""
    if not extras:
        return examples
    counts: dict[str, int] = {}
    for _, label in examples:
        counts[label] = counts.get(label, 0) + 1
    seen = {t for t, _ in examples}
    extra: list[tuple[str, str]] = []
    for label in sorted(extras):
        if not 0 < counts.get(label, 0) < MIN_CALIBRATION:
            continue
        for text in extras[label]:
            if text.strip() and text.strip() not in seen:
                seen.add(text.strip())
                extra.append((text.strip(), label))
    return [*examples, *extra]


def _few_shot(labels: list[str], oos_label: str | None) -> bool:
    counts: dict[str, int] = {}
    for label in labels:
        if label != oos_label:
            counts[label] = counts.get(label, 0) + 1
    return not counts or float(np.median(list(counts.values()))) < MIN_CALIBRATION


def _embed(emb: Embedder, texts: list[str], known: Mapping[str, np.ndarray] | None) -> np.ndarray:
    if not known:
        return emb.embed_queries(texts)
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    new = dict(zip(missing, emb.embed_queries(missing), strict=True)) if missing else {}
    return np.stack([np.asarray(known[t] if t in known else new[t], dtype=np.float32) for t in texts])


def _compare_blend(
    held: HeldOut,
    texts: list[str],
    labels: list[str],
    oos_label: str | None,
    blend: Callable[[list[str], list[str], np.ndarray, list[str], np.ndarray], np.ndarray],
) -> dict[str, Any]:
    """In-scope accuracy on the calibration slice of the frozen ensemble and of its blend with a fine-tuned copy
    trained on the slice's fit part (the same copy the OOS calibration reads, when it reads the blend)."""
    fit_texts, fit_labels = [texts[i] for i in held.fit_idx], [labels[i] for i in held.fit_idx]
    blended = blend(fit_texts, fit_labels, held.ensemble.classes, [texts[i] for i in held.held_idx], held.proba)
    frozen_acc, n = in_scope_accuracy(held, labels, oos_label)
    blend_acc, _ = in_scope_accuracy(HeldOut(held.fit_idx, held.held_idx, held.ensemble, blended), labels, oos_label)
    return {"slice_size": n, "ensemble_accuracy": round(frozen_acc, 4), "blend_accuracy": round(blend_acc, 4)}


def _validate(examples: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    texts = [str(t) for t, _ in examples]
    labels = [str(label) for _, label in examples]
    if len(set(labels)) < 2:
        raise ValueError("intent training needs examples of at least two labels")
    if any(not t.strip() for t in texts):
        raise ValueError("intent training examples must not be empty texts")
    return texts, labels


def _pipeline_component(model: IntentModel) -> Callable[[Message], None]:
    """The "intent" NLP pipeline component: `{"name": "intent", "model": <IntentModel>}`."""

    def run(message: Message) -> None:
        prediction = model.predict(message.text)
        message.intent = prediction.label
        message.intent_confidence = prediction.confidence
        message.intent_ranking = prediction.ranking
        message.out_of_scope = prediction.is_oos

    return run


register_component("intent", _pipeline_component)
