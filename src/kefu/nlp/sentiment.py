"""Sentiment (negative / neutral / positive with a score) plus anger and urgency flags with reasons.

- `SentimentModel`: a trainable text classifier (the intent ensemble's joint TF-IDF + embedding SVM,
  without the kNN part), used by `kefu eval sentiment` and to build the shipped default model.
- `SentimentAnalyzer`: what the bot calls. It blends the shipped default model (see
  docs/nlp-intent-sentiment.md for its training data and licences) with the cue detector in
  `sentiment_cues`; anger always makes the label negative.

The analyser accepts the message's query embedding so one embedding call per message serves intent and
sentiment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import numpy as np

from kefu.nlp import finetune, modelio
from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.finetune import FineTuneConfig, FineTunedHead
from kefu.nlp.guard import (
    BASELINE,
    ENSEMBLE,
    MIN_SLICE,
    SLICE_SHARE,
    GuardResult,
    decide,
    is_sparse_only,
    sparse_config,
    too_few,
)
from kefu.nlp.intent_ensemble import EnsembleConfig, IntentEnsemble
from kefu.nlp.intent_threshold import held_out_split
from kefu.nlp.pipeline import Message, register_component
from kefu.nlp.sentiment_cues import detect

FORMAT_VERSION = 1
_KIND = "sentiment"
NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
# `chosen_overall` of `kefu eval sentiment-lodo` over waimai_10k, online_shopping_9cats,
# twitter_airline_sentiment and the seed file (record docs/results/sentiment-lodo.json): the candidate blend
# with the best mean dev accuracy over those domains; no test split took part in the choice
DEFAULT_CONFIG = EnsembleConfig(dense_weight=4.0, svm_c=0.25, svm_temperature=3.0, knn_weight=0.0)
EVAL_CONFIG = DEFAULT_CONFIG
#: the training guard's sparse-only baseline: the in-command baseline's classifier (TF-IDF + LinearSVC, C = 1)
BASELINE_CONFIG = EnsembleConfig(dense_weight=0.0, svm_c=1.0, svm_temperature=3.0, knn_weight=0.0)
DEFAULT_MODEL = "sentiment-default.kefu-model"
EMBED_MAX_CHARS = 128  # long reviews: the embedding sees the start, TF-IDF sees everything


@dataclass(frozen=True)
class SentimentResult:
    label: str  # negative | neutral | positive
    score: float  # P(positive) - P(negative), in [-1, 1]
    anger: bool
    urgency: bool
    anger_reasons: tuple[str, ...]
    urgency_reasons: tuple[str, ...]


class SentimentModel:
    def __init__(
        self,
        ensemble: IntentEnsemble,
        metadata: dict[str, Any],
        embedder: Embedder | None,
        head: FineTunedHead | None = None,
    ) -> None:
        self._ensemble = ensemble
        self.metadata = metadata
        self._embedder = embedder
        self.classes = [str(c) for c in ensemble.classes]
        self._head = head
        # the fine-tuned copy reads the bundled embedder's lower-layer states (prediction needs no PyTorch)
        self._head_embedder = finetune.bundled(embedder or get_embedder()) if head is not None else None

    @property
    def finetuned(self) -> bool:
        return self._head_embedder is not None

    @property
    def uses_embeddings(self) -> bool:
        return _uses_embeddings(self._ensemble.config)

    @classmethod
    def train(
        cls,
        examples: list[tuple[str, str]],
        *,
        embedder: Embedder | None = None,
        config: EnsembleConfig = DEFAULT_CONFIG,
        sources: str = "",
        fine_tune: bool = False,
        finetune_config: FineTuneConfig | None = None,
        guard: bool = True,
        seed: int = 0,
    ) -> SentimentModel:
        """`guard` (module kefu.nlp.guard): hold out a stratified `SLICE_SHARE` of the examples, fit `config` and the
        sparse-only baseline (`BASELINE_CONFIG` at `config`'s temperature) on the rest, and ship the baseline
        unless `config` is strictly more accurate on the slice; the winner is retrained on all examples and
        the comparison is kept in `metadata["guard"]`. `fine_tune`: also fit a copy of the embedder's upper
        layers (kefu.nlp.finetune; an error without PyTorch or the bundled embedder) and blend it in — only
        when the ensemble ships."""
        texts, labels = [t for t, _ in examples], [str(label) for _, label in examples]
        needs_vectors = _uses_embeddings(config)
        emb = (embedder or get_embedder()) if needs_vectors else None
        vectors = _embed(emb, texts) if emb else np.zeros((len(texts), 0), dtype=np.float32)
        outcome = _guard(texts, vectors, labels, config, seed) if guard else None
        if outcome is not None and outcome.chosen == BASELINE and not is_sparse_only(config):
            config, emb = _baseline_config(config), None
            vectors, fine_tune = vectors[:, :0], False
        ensemble = IntentEnsemble.fit(texts, vectors, labels, config)
        head = None
        if fine_tune:
            base = finetune.required(embedder or get_embedder())
            targets = np.searchsorted(ensemble.classes, np.asarray(labels))
            head = FineTunedHead.train(base, _clip(texts), targets, len(ensemble.classes), config=finetune_config)
        metadata: dict[str, Any] = {
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_examples": len(texts),
            "labels": sorted(set(labels)),
            "sources": sources,
            "config": asdict(config),
        }
        if outcome is not None:
            metadata["guard"] = outcome.as_dict()
        return cls(ensemble, metadata, emb, head)

    def proba(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """(n, len(self.classes)); `vectors` are the texts' query embeddings if already computed."""
        if vectors is None:
            vectors = (
                _embed(self._embedder or get_embedder(), texts)
                if self.uses_embeddings
                else np.zeros((len(texts), 0), dtype=np.float32)
            )
        probs = self._ensemble.proba(texts, vectors)
        if self._head is None or self._head_embedder is None:
            return probs
        return self._head.blend(self._head_embedder, _clip(texts), probs)

    def predict(self, texts: list[str]) -> list[str]:
        return [self.classes[i] for i in self.proba(texts).argmax(axis=1)] if texts else []

    def to_bytes(self) -> bytes:
        payload = {"metadata": self.metadata, "ensemble": self._ensemble.state()}
        if self._head is not None:
            payload["finetuned"] = self._head.state()
        return modelio.dump(_KIND, FORMAT_VERSION, payload)

    @classmethod
    def from_bytes(cls, data: bytes, *, embedder: Embedder | None = None) -> SentimentModel:
        payload = modelio.load(data, _KIND, FORMAT_VERSION)
        head = FineTunedHead.from_state(payload["finetuned"]) if "finetuned" in payload else None
        return cls(IntentEnsemble.from_state(payload["ensemble"]), payload["metadata"], embedder, head)


class SentimentAnalyzer:
    """Shipped-model sentiment + cue flags. Thread-safe for reading; build a new one to swap models."""

    def __init__(self, model: SentimentModel | None = None, *, embedder: Embedder | None = None) -> None:
        self.model = model or load_default_model(embedder)

    def analyse(self, text: str, vector: np.ndarray | None = None) -> SentimentResult:
        return self.analyse_batch([text], None if vector is None else vector.reshape(1, -1))[0]

    def analyse_batch(self, texts: list[str], vectors: np.ndarray | None = None) -> list[SentimentResult]:
        if not texts:
            return []
        probs = self.model.proba(texts, vectors)
        return [self._result(text, row) for text, row in zip(texts, probs, strict=True)]

    def _result(self, text: str, row: np.ndarray) -> SentimentResult:
        p = dict(zip(self.model.classes, row.tolist(), strict=True))
        score = round(p.get(POSITIVE, 0.0) - p.get(NEGATIVE, 0.0), 4)
        flags = detect(text)
        label = NEGATIVE if flags.anger else max(p, key=lambda k: p[k])
        return SentimentResult(label=label, score=min(score, 0.0) if flags.anger else score, **asdict(flags))


def _uses_embeddings(config: EnsembleConfig) -> bool:
    return config.dense_weight > 0 or config.knn_weight > 0


def _baseline_config(config: EnsembleConfig) -> EnsembleConfig:
    return replace(BASELINE_CONFIG, svm_temperature=config.svm_temperature)


def _guard(texts: list[str], vectors: np.ndarray, labels: list[str], config: EnsembleConfig, seed: int) -> GuardResult:
    """Compares `config` with the sparse-only baseline on a held-out calibration slice (module `guard`)."""
    if is_sparse_only(config):
        return sparse_config()
    fit, held = held_out_split(labels, seed, share=SLICE_SHARE)
    fit_labels = [labels[i] for i in fit]
    if len(held) < MIN_SLICE or len(set(fit_labels)) < 2:
        return too_few(len(held))
    fit_texts, held_texts = [texts[i] for i in fit], [texts[i] for i in held]
    gold = np.asarray([labels[i] for i in held])
    accuracy = {}
    for name, cfg, vecs in ((ENSEMBLE, config, vectors), (BASELINE, _baseline_config(config), vectors[:, :0])):
        model = IntentEnsemble.fit(fit_texts, vecs[fit], fit_labels, cfg)
        pred = model.classes[model.proba(held_texts, vecs[held]).argmax(axis=1)]
        accuracy[name] = float(np.mean(pred == gold))
    return decide(accuracy[ENSEMBLE], accuracy[BASELINE], len(held))


def _clip(texts: list[str]) -> list[str]:
    return [t[:EMBED_MAX_CHARS] for t in texts]


def _embed(embedder: Embedder, texts: list[str]) -> np.ndarray:
    return embedder.embed_queries(_clip(texts))


def load_default_model(embedder: Embedder | None = None) -> SentimentModel:
    """The shipped model; `embedder`: the application's (None: kefu.nlp's default)."""
    data = resources.files("kefu.nlp").joinpath("data", DEFAULT_MODEL).read_bytes()
    return SentimentModel.from_bytes(data, embedder=embedder)


def _pipeline_component(analyzer: SentimentAnalyzer | None = None) -> Callable[[Message], None]:
    """The "sentiment" NLP pipeline component; flags and reasons go to `message.extras["sentiment"]`."""
    chosen = analyzer or SentimentAnalyzer()

    def run(message: Message) -> None:
        result = chosen.analyse(message.text)
        message.sentiment, message.sentiment_score = result.label, result.score
        message.extras["sentiment"] = result

    return run


register_component("sentiment", _pipeline_component)
