"""NLU latency per message: normalise + intent + entities + sentiment, next to a no-embedding baseline.

    .venv/bin/python bench/nlu_latency.py [--train FILE] [--messages 300] [--json]

Model path (what the bot runs): one query embedding per message (also timed alone, "embedding"), shared
by the intent model and the shipped sentiment model; kefu.nlp.entities; anger/urgency cues. "rest" times the
same path with the message's embedding computed beforehand (everything but the embedding).
Baseline path, same process, same messages: normalise + TF-IDF + LinearSVC intent + entities +
cue-only sentiment (no embedding).
The intent model is trained on --train (default: the small zh/en fixture in tests/nlp/fixtures; pass
e.g. BANKING77's train.jsonl for a 77-intent, 10k-example model). The embedding runs with kefu's
thread defaults, as a server does (kefu.nlp.threads; set OMP_NUM_THREADS to override).
"""

from __future__ import annotations

import kefu  # noqa: F401  (kefu's thread defaults, applied before numpy loads)

# isort: split

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kefu.core.embedding import embedder_from_settings
from kefu.nlp.entities import extract_entities
from kefu.nlp.evaluation.baseline import TfidfSvmBaseline
from kefu.nlp.evaluation.cache import CachedEmbedder
from kefu.nlp.evaluation.data import drop_empty, load_labelled
from kefu.nlp.intent import IntentModel
from kefu.nlp.normalise import normalise
from kefu.nlp.sentiment import SentimentAnalyzer
from kefu.nlp.sentiment_cues import detect
from kefu.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "nlp" / "fixtures"
EXTRA = [
    "我的订单20240518001什么时候到？电话13812345678",
    "我要投诉，快递三天了还没到",
    "I was charged $25.99 twice on May 3rd, refund ASAP!!!",
    "Can you send the invoice to anna@example.com?",
]


def main() -> None:
    args = _args()
    train = drop_empty(load_labelled(args.train))
    texts = _messages(args.messages)
    embedder = embedder_from_settings(Settings(env="test")).inner  # KEFU_EMBEDDER…; env=test: no secret file
    examples = [(r.text, r.label) for r in train]
    cached = CachedEmbedder(embedder, "var/cache/embeddings")  # training only; messages use `embedder`
    intent = IntentModel.train(examples, oos_label=args.oos_label, embedder=cached)
    sentiment = SentimentAnalyzer()
    baseline = TfidfSvmBaseline.fit([r.text for r in train], [r.label for r in train])

    def model_path(text: str) -> None:
        normalise(text)
        vector = embedder.embed_queries([text])[0]
        intent.predict(text, vector=vector)
        extract_entities(text)
        sentiment.analyse(text, vector)

    def baseline_path(text: str) -> None:
        normalise(text)
        baseline.predict([text])
        extract_entities(text)
        detect(text)

    def embedding_only(text: str) -> None:
        embedder.embed_queries([text])

    unique = list(dict.fromkeys(texts))
    vectors = dict(zip(unique, embedder.embed_queries(unique), strict=True))

    def without_embedding(text: str) -> None:  # the model path with the message's vector already computed
        normalise(text)
        vector = vectors[text]
        intent.predict(text, vector=vector)
        extract_entities(text)
        sentiment.analyse(text, vector)

    result = {
        "messages": len(texts),
        "n_train": len(train),
        "intents": len(intent.metadata.labels),
        "fine_tuned": intent.finetuned,  # "rest" then includes the message's lower layers (no memo there)
        "baseline": _percentiles(baseline_path, texts),
        "model": _percentiles(model_path, texts),
        "embedding": _percentiles(embedding_only, texts),
        "rest": _percentiles(without_embedding, texts),
    }
    _print(result, args.json)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=FIXTURES / "intent_train.jsonl")
    parser.add_argument("--oos-label", default="oos")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def _messages(n: int) -> list[str]:
    pool = [
        r.text for name in ("intent_test.jsonl", "sentiment_test.jsonl") for r in load_labelled(FIXTURES / name)
    ] + EXTRA
    return [pool[i % len(pool)] for i in range(n)]


def _percentiles(fn: Callable[[str], None], texts: list[str]) -> dict[str, float]:
    for text in texts[:5]:
        fn(text)
    ms = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        ms.append((time.perf_counter() - start) * 1000)
    p50, p95 = np.percentile(ms, [50, 95])
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2)}


def _print(result: dict[str, object], as_json: bool) -> None:
    print(
        f"NLU per message, {result['messages']} messages; intent model: {result['n_train']} examples, "
        f"{result['intents']} intents, fine-tuned {'yes' if result['fine_tuned'] else 'no'}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for name in ("baseline", "model", "embedding", "rest"):
        row = result[name]
        assert isinstance(row, dict)
        print(f"  {name:<9} p50 {row['p50_ms']:>7.2f} ms   p95 {row['p95_ms']:>7.2f} ms")
    if as_json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
