"""Few-shot intent episodes: `kefu eval intent --shots K --episodes N`.

An episode is what a new account has on its first day: K examples per intent (the support rows), and the
questions its customers then ask (the query rows). Each episode trains the intent model and the TF-IDF +
LinearSVC baseline on its own support rows only and scores both on its query rows.

Two ways to build episodes, both seeded (episode i draws with seed `seed + i`):
- by domain (`domain_episodes`): rows carry a `domain` (FewJoint: one skill per domain, several intents
  each); episode i is the i-th domain of a seeded order of the domains with at least two intents (cycling
  when N exceeds them), support = K rows per intent of that domain, query = the domain's other rows;
- from a labelled set (`sampled_episodes`): support = K rows per label drawn from the training file, query =
  the test file (every row, or `max_query` of them).

An intent with no more than K rows in a domain gives all but one to the support (so it is asked at least once).
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kefu.nlp.embed import Embedder
from kefu.nlp.evaluation.baseline import TfidfSvmBaseline
from kefu.nlp.evaluation.data import DataError, Labelled, json_lines


@dataclass(frozen=True)
class Episode:
    name: str
    support: list[tuple[str, str]]
    query: list[tuple[str, str]]


def load_domain_rows(path: str | Path) -> list[dict[str, str]]:
    """JSONL rows with "text", "label" and "domain" (FewJoint's files have them)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows = []
    for number, obj in json_lines(path):
        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), str) for k in ("text", "label", "domain")):
            raise DataError(f"{path}:{number}: expected an object with string 'text', 'label' and 'domain'")
        if obj["text"].strip():
            rows.append({"text": obj["text"], "label": obj["label"], "domain": obj["domain"]})
    return rows


def domain_episodes(rows: list[dict[str, str]], shots: int, episodes: int, *, seed: int = 0) -> list[Episode]:
    """`rows`: {"text", "label", "domain"}."""
    by_domain: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_domain[r["domain"]][r["label"]].append(r["text"])
    domains = sorted(
        d for d, labels in by_domain.items() if len(labels) >= 2 and all(len(t) >= 2 for t in labels.values())
    )
    if not domains:
        raise ValueError("no domain has two intents with at least two rows each")
    order = list(domains)
    random.Random(seed).shuffle(order)
    out = []
    for i in range(episodes):
        domain = order[i % len(order)]
        rng = random.Random(seed + i)
        support, query = [], []
        for label in sorted(by_domain[domain]):
            texts = list(by_domain[domain][label])
            rng.shuffle(texts)
            k = min(shots, len(texts) - 1)
            support += [(t, label) for t in texts[:k]]
            query += [(t, label) for t in texts[k:]]
        out.append(Episode(domain, support, query))
    return out


def sampled_episodes(
    train: list[Labelled],
    test: list[Labelled],
    shots: int,
    episodes: int,
    *,
    seed: int = 0,
    max_query: int | None = None,
) -> list[Episode]:
    by_label: dict[str, list[str]] = defaultdict(list)
    for r in train:
        by_label[r.label].append(r.text)
    known = set(by_label)
    query_rows = [(r.text, r.label) for r in test if r.label in known]
    out = []
    for i in range(episodes):
        rng = random.Random(seed + i)
        support = [
            (t, label)
            for label in sorted(by_label)
            for t in rng.sample(by_label[label], min(shots, len(by_label[label])))
        ]
        query = query_rows if max_query is None or len(query_rows) <= max_query else rng.sample(query_rows, max_query)
        out.append(Episode(f"episode {i + 1}", support, query))
    return out


@dataclass(frozen=True)
class EpisodeResult:
    name: str
    n_support: int
    n_query: int
    accuracy: float  # a rejected in-domain question counts as wrong
    rejected: float  # share of the query rows the model rejected as out of scope
    top_accuracy: float  # the best in-scope label, rejection ignored
    baseline_accuracy: float
    oos_rule: str


Train = Callable[[list[tuple[str, str]]], Any]


def run_episodes(
    episodes: list[Episode], train: Train, *, embedder: Embedder, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """`train(support) -> IntentModel`. Returns per-episode results and their means, next to the baseline."""
    say = progress or _stderr
    results: list[EpisodeResult] = []
    start = time.perf_counter()
    for n, ep in enumerate(episodes, start=1):
        model = train(ep.support)
        texts = [t for t, _ in ep.query]
        gold = np.asarray([label for _, label in ep.query])
        preds = model.predict_batch(texts, vectors=embedder.embed_queries(texts))
        labels = np.asarray([p.label if p.label is not None else "" for p in preds])
        top = np.asarray([p.ranking[0][0] for p in preds])
        baseline = TfidfSvmBaseline.fit([t for t, _ in ep.support], [label for _, label in ep.support])
        result = EpisodeResult(
            name=ep.name,
            n_support=len(ep.support),
            n_query=len(ep.query),
            accuracy=round(float((labels == gold).mean()), 4),
            rejected=round(float(np.mean([p.is_oos for p in preds])), 4),
            top_accuracy=round(float((top == gold).mean()), 4),
            baseline_accuracy=round(float((np.asarray(baseline.predict(texts)) == gold).mean()), 4),
            oos_rule=model.metadata.oos_rule,
        )
        results.append(result)
        elapsed = time.perf_counter() - start
        say(
            f"episode {n}/{len(episodes)} {ep.name}: {len(ep.support)} support, {len(ep.query)} query rows, "
            f"accuracy {result.accuracy:.2%} (baseline {result.baseline_accuracy:.2%}), rejected {result.rejected:.2%}"
            f" — {elapsed:.0f} s, about {elapsed / n * (len(episodes) - n):.0f} s left"
        )
    return summarise(results)


def summarise(results: list[EpisodeResult]) -> dict[str, Any]:
    def mean(key: str) -> float:
        return round(float(np.mean([getattr(r, key) for r in results])), 4)

    below = [r.name for r in results if r.accuracy < r.baseline_accuracy]
    return {
        "episodes": len(results),
        "accuracy": mean("accuracy"),
        "rejected_share": mean("rejected"),
        "top_accuracy": mean("top_accuracy"),
        "min_accuracy": round(min(r.accuracy for r in results), 4),
        "baseline_accuracy": mean("baseline_accuracy"),
        "baseline_min_accuracy": round(min(r.baseline_accuracy for r in results), 4),
        "below_baseline": len(below),
        "below_baseline_episodes": below,
        "per_episode": [r.__dict__ for r in results],
    }


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
