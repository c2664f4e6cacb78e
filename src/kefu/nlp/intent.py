"""Intent recognition per account, with out-of-scope (OOS) detection. See docs/nlp-intent-sentiment.md.

An ensemble of
- a linear SVM over sparse word + char n-gram TF-IDF of the normalised text joined with the (weighted)
  sentence embedding, its scores turned into a distribution by a softmax, and
- a nearest-neighbour vote over the training embeddings (mean of the top-3 cosine similarities per label).

Out of scope = the account's explicit OOS label (when examples for it were given; trained as k-means parts,
summed back) beats the best in-scope label by a margin, or the best in-scope probability is below a
threshold; both are calibrated on a held-out slice of the training examples (`intent_threshold`).
Prediction costs one embedding call per message (batched for `predict_batch`).

A trained model is immutable: retraining builds a new object, which the caller swaps in by reassigning its
reference (atomic in Python), so predictions in flight keep using the old model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kefu.nlp import modelio
from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.intent_ensemble import EnsembleConfig, IntentEnsemble
from kefu.nlp.intent_threshold import (
    DEFAULT_MAX_IN_SCOPE_LOSS,
    OosRule,
    calibrate,
    merge_parts,
    oos_parts,
    rejected,
    split_oos,
)
from kefu.nlp.pipeline import Message, register_component

FORMAT_VERSION = 1
_KIND = "intent"


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


class IntentModel:
    """Use `IntentModel.train(...)` or `IntentModel.from_bytes(...)`; do not construct directly."""

    def __init__(self, ensemble: IntentEnsemble, metadata: IntentMetadata, embedder: Embedder) -> None:
        self._ensemble = ensemble
        self.metadata = metadata
        self._embedder = embedder

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
    ) -> IntentModel:
        """Trains on (text, label) pairs; `oos_label` names the label of out-of-scope examples, if any.

        OOS calibration: the most OOS recall within `max_in_scope_loss` of in-scope accuracy; None selects
        the balanced rule (see `intent_threshold`)."""
        texts, labels = _validate(examples)
        emb = embedder or get_embedder()
        cfg = config or EnsembleConfig()
        vectors = emb.embed_queries(texts)
        fit_labels = oos_parts(labels, vectors, oos_label, seed)
        rule = calibrate(
            texts, vectors, fit_labels, oos_label=oos_label, config=cfg, seed=seed, max_in_scope_loss=max_in_scope_loss
        )
        ensemble = IntentEnsemble.fit(texts, vectors, fit_labels, cfg)
        metadata = IntentMetadata(
            version=version,
            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
            n_examples=len(texts),
            labels=sorted(set(labels) - {oos_label}),
            threshold=rule.threshold,
            oos_label=oos_label if oos_label in labels else None,
            oos_margin=rule.margin,
            config=asdict(cfg),
        )
        return cls(ensemble, metadata, emb)

    def predict(self, text: str, top_k: int = 5, *, vector: np.ndarray | None = None) -> IntentPrediction:
        """`vector`: the text's query embedding, if the caller already has it (then no embedding call)."""
        return self.predict_batch([text], top_k=top_k, vectors=None if vector is None else vector[None, :])[0]

    def predict_batch(
        self, texts: list[str], top_k: int = 5, *, vectors: np.ndarray | None = None
    ) -> list[IntentPrediction]:
        if not texts:
            return []
        vectors = self._embedder.embed_queries(texts) if vectors is None else vectors
        probs, classes = merge_parts(self._ensemble.proba(texts, vectors), [str(c) for c in self._ensemble.classes])
        meta = self.metadata
        oos_index = classes.index(meta.oos_label) if meta.oos_label in classes else None
        best, p_best, p_oos = split_oos(probs, oos_index)
        is_oos = rejected(p_best, p_oos, OosRule(meta.threshold, meta.oos_margin))
        return [
            _prediction(classes, row, classes[b], float(pb), bool(o), top_k)
            for row, b, pb, o in zip(probs, best, p_best, is_oos, strict=True)
        ]

    def to_bytes(self) -> bytes:
        return modelio.dump(
            _KIND, FORMAT_VERSION, {"metadata": asdict(self.metadata), "ensemble": self._ensemble.state()}
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, embedder: Embedder | None = None) -> IntentModel:
        payload = modelio.load(data, _KIND, FORMAT_VERSION)
        meta = payload["metadata"]
        metadata = IntentMetadata(**{**meta, "labels": list(meta["labels"])})
        return cls(IntentEnsemble.from_state(payload["ensemble"]), metadata, embedder or get_embedder())


def _prediction(
    classes: list[str], row: np.ndarray, best: str, p_best: float, is_oos: bool, top_k: int
) -> IntentPrediction:
    ranking = [(classes[i], round(float(row[i]), 6)) for i in np.argsort(-row)[:top_k]]
    return IntentPrediction(label=None if is_oos else best, confidence=round(p_best, 6), ranking=ranking, is_oos=is_oos)


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
