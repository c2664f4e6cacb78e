"""NLU for the bot: kefu.nlp's pipeline (normalise, language, tokens, entities) + the account's trained
intent model + sentiment → `policy.Signals`. CPU-bound and synchronous: the runtime calls it through
asyncio.to_thread. The only place that knows the kefu.nlp.intent / kefu.nlp.sentiment APIs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kefu.bot.policy import Signals
from kefu.nlp.lang import detect_language
from kefu.nlp.normalise import normalise, to_simplified
from kefu.nlp.pipeline import DEFAULT_PIPELINE, Message, Pipeline

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


def load_intent_model(blob: bytes) -> Any:
    from kefu.nlp.intent import IntentModel

    return IntentModel.from_bytes(blob)


OOS_LABEL = "out_of_scope"  # an intent with this name holds examples of what the bot should not handle


def train_intent_model(examples: list[tuple[str, str]]) -> tuple[bytes, dict[str, Any]]:
    """Train on (text, label) pairs; returns the model bytes and its metrics."""
    from kefu.nlp.intent import IntentModel

    started = time.perf_counter()
    oos = OOS_LABEL if any(label == OOS_LABEL for _, label in examples) else None
    model = IntentModel.train(examples, oos_label=oos)
    md = model.metadata
    metrics: dict[str, Any] = {
        "labels": list(md.labels),
        "n_examples": md.n_examples,
        "threshold": round(float(md.threshold), 4),
        "oos_label": md.oos_label,
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    return model.to_bytes(), metrics


def _intent(model: Any, text: str) -> tuple[str | None, float, list[tuple[str, float]], bool]:
    if model is None:
        return None, 0.0, [], False
    pred = model.predict(text)
    ranking = [(str(n), float(c)) for n, c in pred.ranking]
    top = pred.label if pred.label is not None else (ranking[0][0] if ranking else None)
    return top, float(pred.confidence), ranking, bool(pred.is_oos)


def _sentiment(text: str) -> tuple[str | None, float | None, bool, bool, list[str]]:
    try:
        from kefu.nlp.sentiment import analyse_sentiment
    except ImportError:
        return None, None, False, False, []
    s = analyse_sentiment(text)
    return (
        getattr(s, "label", None),
        getattr(s, "score", None),
        bool(getattr(s, "anger", False)),
        bool(getattr(s, "urgency", False)),
        [str(r) for r in getattr(s, "reasons", [])],
    )


def analyse(text: str, model: Any = None, *, order_patterns: list[str] | None = None) -> Analysis:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    msg = base_pipeline()(text)
    t1 = time.perf_counter()
    intent, conf, ranking, oos = _intent(model, text)
    t2 = time.perf_counter()
    label, score, anger, urgency, reasons = _sentiment(text)
    t3 = time.perf_counter()
    timings.update(pipeline=_ms(t1 - t0), intent=_ms(t2 - t1), sentiment=_ms(t3 - t2))
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
    """Just the normalised text (microseconds): enough to spot an explicit request for a human."""
    return Signals(text=text, normalised=normalise(text))


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
