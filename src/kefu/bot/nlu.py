"""NLU for the bot: kefu.nlp's pipeline (normalise, language, tokens, entities) + the account's trained
intent model + sentiment → `policy.Signals`. CPU-bound and synchronous: the runtime calls it through
asyncio.to_thread. The only place that knows the kefu.nlp.intent / kefu.nlp.sentiment APIs.

Every model sees `model_text(message)` — width-folded and 繁→简 — never the message as typed: the query
embedding (intent model, sentiment, knowledge search), the intent model's features and its training
examples. So 怎麼退貨 and 怎么退货 get the same decision.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kefu.bot.policy import Signals
from kefu.core import clock
from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.lang import detect_language
from kefu.nlp.normalise import nfkc, normalise, to_simplified
from kefu.nlp.pipeline import DEFAULT_PIPELINE, Message, Pipeline

log = logging.getLogger("kefu.bot")
_lock = threading.Lock()
_pipeline: Pipeline | None = None


def base_pipeline() -> Pipeline:
    global _pipeline
    with _lock:
        if _pipeline is None:
            _pipeline = Pipeline.from_config(DEFAULT_PIPELINE)
        return _pipeline


@dataclass
class Analysis:
    signals: Signals
    message: Message
    timings_ms: dict[str, float] = field(default_factory=dict)


class _QueryMemo:
    """The process embedder, remembering the last query vectors: the message is embedded once and
    that vector serves the intent model and sentiment (kefu.nlp models take an `embedder`)."""

    def __init__(self, inner: Embedder, size: int = 16) -> None:  # per-message sharing, not a cache
        self.inner = inner
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:  # read when needed: the app's embedder is built on first use
        return self.inner.dim

    def vector(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._vectors.get(text)
        if hit is not None:
            return hit
        vec = self.inner.embed_queries([text])[0]
        with self._lock:
            self._vectors[text] = vec
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vec

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


_queries: _QueryMemo | None = None
_fine_tune = True


def use_embedder(embedder: Embedder, *, fine_tune: bool = True) -> None:
    """Make `embedder` (the app's one embedder, built from Settings) the one the bot's models embed with;
    `fine_tune`: whether intent training may fine-tune the encoder's upper layers (KEFU_FINETUNE).
    Called by `install_bot`, and by the CLI before it trains. Until then: kefu.nlp's default."""
    global _queries, _fine_tune
    with _lock:
        if _queries is None or _queries.inner is not embedder:
            _queries = _QueryMemo(embedder)
        _fine_tune = fine_tune


def queries() -> _QueryMemo:
    global _queries
    with _lock:
        if _queries is None:
            _queries = _QueryMemo(get_embedder())
        return _queries


def model_text(text: str) -> str:
    """What the models are given for a message: NFKC (full-width ＡＢＣ → ABC) and 繁→简, case kept (the
    embedder is cased). The message itself is kept as typed (shown, quoted in handoff summaries)."""
    return to_simplified(nfkc(text))


def load_intent_model(blob: bytes) -> Any:
    from kefu.nlp.intent import IntentModel

    return IntentModel.from_bytes(blob, embedder=queries())


OOS_LABEL = "out_of_scope"  # an intent with this name holds examples of what the bot should not handle


def train_intent_model(
    examples: list[tuple[str, str]],
    *,
    embedder: Embedder | None = None,
    fine_tune: bool | None = None,
    extra_examples: dict[str, list[str]] | None = None,
    previous: bytes | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Train on (text, label) pairs; returns the model bytes and its metrics. `embedder` / `fine_tune`:
    the job's (a worker's, built from its Settings); None = what `use_embedder` configured. `extra_examples`:
    intent → texts saying what it is (description, linked FAQ questions): more examples for intents with few.
    `previous`: the active model's bytes, whose example embeddings are reused (only new examples are
    embedded). `progress`: fine-tuning lines."""
    from kefu.nlp.intent import IntentModel

    started = time.perf_counter()
    oos = OOS_LABEL if any(label == OOS_LABEL for _, label in examples) else None
    allowed = _fine_tune if fine_tune is None else fine_tune
    emb = embedder or queries().inner
    model = IntentModel.train(
        [(model_text(text), label) for text, label in examples],
        oos_label=oos,
        embedder=emb,
        fine_tune=None if allowed else False,
        extra_examples={k: [model_text(t) for t in v] for k, v in (extra_examples or {}).items()},
        known_vectors=_known_vectors(previous, emb),
        progress=progress,
    )
    md = model.metadata
    metrics: dict[str, Any] = {
        "labels": list(md.labels),
        "n_examples": md.n_examples,
        "threshold": round(float(md.threshold), 4),
        "oos_label": md.oos_label,
        "oos_rule": md.oos_rule,  # "calibrated" on a held-out slice, or "few-shot" (ADR 0007)
        "fine_tuned": model.finetuned,
        "guard": dict(md.guard),  # which configuration shipped: ensemble or sparse-only baseline (kefu.nlp.guard)
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    if md.finetune:
        metrics["finetune"] = dict(md.finetune)  # the fine-tuned copy against the frozen ensemble on the slice
    return model.to_bytes(), metrics


def fine_tuning_applies(n_examples: int, *, embedder: Embedder | None = None, allowed: bool | None = None) -> bool:
    """Whether a training of this many examples would fine-tune (PyTorch, the bundled embedder, enough
    examples, and fine-tuning not switched off)."""
    from kefu.nlp import finetune

    if not (_fine_tune if allowed is None else allowed):
        return False
    return finetune.wanted(embedder or queries().inner, n_examples) is not None


def _known_vectors(previous: bytes | None, embedder: Embedder) -> dict[str, np.ndarray] | None:
    if previous is None:
        return None
    from kefu.nlp.intent import IntentModel

    try:
        return IntentModel.from_bytes(previous, embedder=embedder).training_vectors()
    except Exception:  # an older format: embed everything again
        log.info("the previous intent model cannot be read; its example embeddings are not reused")
        return None


def intent_report(examples: list[tuple[str, str]], blob: bytes, *, embedder: Embedder | None = None) -> dict[str, Any]:
    """What the model `blob` (trained on `examples`) knows about its own examples: leave-one-out per intent,
    confusions with example questions, suggestions (kefu.nlp.intent_report). The examples as typed."""
    from kefu.nlp.intent import IntentModel
    from kefu.nlp.intent_ensemble import EnsembleConfig
    from kefu.nlp.intent_report import diagnose

    emb = embedder or queries().inner
    model = IntentModel.from_bytes(blob, embedder=emb)
    folded = [model_text(text) for text, _ in examples]
    known = model.training_vectors()
    missing = [t for t in dict.fromkeys(folded) if t not in known]
    if missing:
        known.update(zip(missing, emb.embed_queries(missing), strict=True))
    vectors = np.stack([known[t] for t in folded]).astype(np.float32)
    typed = {f: text for f, (text, _) in zip(folded, examples, strict=True)}
    config = EnsembleConfig(**model.metadata.config)
    report = diagnose(folded, vectors, [label for _, label in examples], config=config, oos_label=OOS_LABEL)
    out = report.as_dict()
    for c in out["confusions"]:  # show the questions as the admin wrote them
        c["questions"] = [typed.get(q, q) for q in c["questions"]]
    return out


def _intent(model: Any, text: str) -> tuple[str | None, float, list[tuple[str, float]], bool]:
    if model is None:
        return None, 0.0, [], False
    pred = model.predict(text)
    ranking = [(str(n), float(c)) for n, c in pred.ranking]
    top = pred.label if pred.label is not None else (ranking[0][0] if ranking else None)
    return top, float(pred.confidence), ranking, bool(pred.is_oos)


_analyzer: Any = None
_analyzer_failed = False


def _sentiment_analyzer() -> Any:
    """The shipped sentiment model (None when it cannot be loaded: cue flags still work)."""
    global _analyzer, _analyzer_failed
    embedder = queries().inner  # before taking the lock: queries() takes it too
    with _lock:
        if _analyzer is None and not _analyzer_failed:
            try:
                from kefu.nlp.sentiment import SentimentAnalyzer

                _analyzer = SentimentAnalyzer(embedder=embedder)
            except Exception:
                log.exception("the sentiment model cannot be loaded; anger/urgency come from cues only")
                _analyzer_failed = True
        return _analyzer


def _sentiment(text: str, vector: np.ndarray | None) -> tuple[str | None, float | None, bool, bool, list[str]]:
    analyzer = _sentiment_analyzer()
    if analyzer is not None:
        r = analyzer.analyse(text, vector)
        label, score, flags = r.label, float(r.score), r
    else:
        from kefu.nlp.sentiment_cues import detect

        flags = detect(text)
        label, score = ("negative" if flags.anger else None), None
    reasons = [f"anger: {c}" for c in flags.anger_reasons] + [f"urgency: {c}" for c in flags.urgency_reasons]
    return label, score, bool(flags.anger), bool(flags.urgency), reasons


def analyse(text: str, model: Any = None, *, order_patterns: list[str] | None = None) -> Analysis:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    msg = base_pipeline()(text, now=clock.now())
    folded = model_text(text)
    t1 = time.perf_counter()
    vector = queries().vector(folded) if model is not None or _sentiment_analyzer() is not None else None
    t2 = time.perf_counter()
    intent, conf, ranking, oos = _intent(model, folded)
    t3 = time.perf_counter()
    label, score, anger, urgency, reasons = _sentiment(folded, vector)
    t4 = time.perf_counter()
    timings.update(pipeline=_ms(t1 - t0), embed=_ms(t2 - t1), intent=_ms(t3 - t2), sentiment=_ms(t4 - t3))
    signals = Signals(
        text=text,
        language=msg.language,
        normalised=msg.normalised,
        intent=intent,
        intent_confidence=conf,
        intent_ranking=ranking,
        out_of_scope=oos,
        entities=list(msg.entities),
        sentiment=label,
        sentiment_score=score,
        anger=anger,
        urgency=urgency,
        sentiment_reasons=reasons,
    )
    return Analysis(signals, msg, timings)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def quick_signals(text: str) -> Signals:
    """Just the normalised text and the language (microseconds): enough to spot an explicit request for a
    human, or to acknowledge a message in the customer's language."""
    return Signals(text=text, language=detect_language(text), normalised=normalise(text))


def detect(text: str) -> str:
    return detect_language(text)


_s2tw: Any = None


def writes_traditional(text: str) -> bool:
    """The customer writes 繁體: folding to simplified changes some Han character."""
    return to_simplified(text) != text and any("\u4e00" <= c <= "\u9fff" for c in text)


def to_traditional(text: str) -> str:
    """Simplified → Traditional (Taiwan standard, OpenCC s2tw) for replies to 繁體 writers."""
    global _s2tw
    if _s2tw is None:
        from opencc import OpenCC

        _s2tw = OpenCC("s2tw")
    return str(_s2tw.convert(text))
