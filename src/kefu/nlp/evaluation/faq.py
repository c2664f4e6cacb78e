"""FAQ retrieval evaluation: each training label is one FAQ entry whose question variants are its training
texts; each test text is a query. Ranks the hybrid index next to a TF-IDF + cosine baseline (same tokeniser,
same per-entry max over variants), both built and queried in the same process.

With unanswerable queries (texts no entry answers, e.g. chit-chat), also how well the index's scores tell
when to answer at all: the bot's rule with the knowledge base's answer floor (cosine ≥ `answer_min_score`
and relative score ≥ `HybridIndex.answer_floor`) next to the cosine-only rule, both picking the best
answerable hit by cosine as kefu.bot.policy does (clarifying questions aside)."""

from __future__ import annotations

import hashlib
import sys
import time
from collections import defaultdict

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from kefu.nlp.embed import Embedder
from kefu.nlp.evaluation.data import Labelled
from kefu.nlp.evaluation.metrics import latency_ms
from kefu.nlp.evaluation.timing import per_message_seconds
from kefu.nlp.normalise import normalise
from kefu.nlp.retrieval import (
    ANSWER_FLOOR_QUANTILE,
    ANSWER_MIN_SCORE,
    Document,
    Hit,
    HybridIndex,
    IndexOptions,
    answerable,
)
from kefu.nlp.tokenise import tokenise

RECALL_AT = (1, 3, 5, 10)
FLOOR_QUANTILES = (0.05, 0.1, 0.2)  # compared on the dev slice by --tune
TUNING_GRID: dict[str, IndexOptions] = {
    "rrf k=60": IndexOptions(fusion="rrf", rrf_k=60),
    "rrf k=20": IndexOptions(fusion="rrf", rrf_k=20),
    "weighted a=0.3": IndexOptions(fusion="weighted", alpha=0.3),
    "weighted a=0.5": IndexOptions(fusion="weighted", alpha=0.5),
    "weighted a=0.7": IndexOptions(fusion="weighted", alpha=0.7),
    "dense only": IndexOptions(fusion="dense"),
    "bm25 only": IndexOptions(fusion="bm25"),
}


def faq_documents(rows: list[Labelled]) -> list[Document]:
    variants: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        variants[row.label].append(row.text)
    return [Document(label, texts) for label, texts in variants.items()]


def rank_metrics(ranked: list[list[str]], gold: list[str], k: int = 10) -> dict[str, float]:
    """MRR@k, recall@1/3/5/10 and accuracy@1 of ranked label lists against gold labels."""
    ranks = [r[:k].index(g) + 1 if g in r[:k] else 0 for r, g in zip(ranked, gold, strict=True)]
    n = max(len(ranks), 1)
    out = {f"mrr_at_{k}": sum(1 / r for r in ranks if r) / n}
    out.update({f"recall_at_{c}": sum(1 for r in ranks if 0 < r <= c) / n for c in RECALL_AT})
    out["accuracy_at_1"] = out["recall_at_1"]
    return out


class TfidfFaq:
    """Baseline: TF-IDF over kefu's tokens, cosine to every variant, per-entry max."""

    def __init__(self, docs: list[Document]) -> None:
        texts = [t for d in docs for t in d.texts]
        self.row_doc = np.asarray([i for i, d in enumerate(docs) for _ in d.texts])
        self.starts = np.flatnonzero(np.r_[True, self.row_doc[1:] != self.row_doc[:-1]])
        self.ids = [d.id for d in docs]
        self.vectorizer = TfidfVectorizer(tokenizer=tokenise, lowercase=False, token_pattern=None, sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(texts).T.tocsr()  # terms × rows

    def search(self, query: str, k: int = 10) -> list[str]:
        q = self.vectorizer.transform([query])
        scores = np.asarray((q @ self.matrix).todense()).ravel()
        per_doc = np.maximum.reduceat(scores, self.starts)
        best = np.argsort(-per_doc, kind="stable")[:k]
        return [self.ids[i] for i in best]


def answer_metrics(
    hits: list[list[Hit]], gold: list[str], unanswerable: list[list[Hit]], *, min_score: float, floor: float | None
) -> dict[str, float]:
    """Shares of answerable queries answered with their entry / another entry, of unanswerable queries
    answered at all, and the precision of all answers, for one answer rule (`floor` None: cosine only)."""

    def answer(row: list[Hit]) -> str | None:
        ok = [h for h in row if answerable(h.dense_score, h.relative_score, min_score=min_score, floor=floor)]
        return max(ok, key=lambda h: h.dense_score).doc_id if ok else None

    picked = [answer(row) for row in hits]
    right = sum(1 for p, g in zip(picked, gold, strict=True) if p == g)
    wrong = sum(1 for p, g in zip(picked, gold, strict=True) if p is not None and p != g)
    stray = sum(1 for row in unanswerable if answer(row) is not None)
    return {
        "answered_right": right / max(len(gold), 1),
        "answered_wrong": wrong / max(len(gold), 1),
        "unanswerable_answered": stray / max(len(unanswerable), 1),
        "answer_precision": right / max(right + wrong + stray, 1),
    }


def _answer_rules(
    index: HybridIndex,
    hits: list[list[Hit]],
    gold: list[str],
    stray: list[list[Hit]],
    min_score: float,
    quantile: float,
) -> dict[str, float | None]:
    floor = index.answer_floor(quantile)
    out: dict[str, float | None] = {"answer_floor": floor, "answer_min_score": min_score}
    out |= answer_metrics(hits, gold, stray, min_score=min_score, floor=floor)
    cosine_only = answer_metrics(hits, gold, stray, min_score=min_score, floor=None)
    out |= {f"baseline_{key}": value for key, value in cosine_only.items()}  # the rule before the floor
    return out


def run_faq_eval(
    train: list[Labelled],
    test: list[Labelled],
    *,
    embedder: Embedder,
    query_embedder: Embedder,
    k: int = 10,
    options: IndexOptions | None = None,
    unanswerable: list[Labelled] | None = None,
    answer_min_score: float = ANSWER_MIN_SCORE,
    floor_quantile: float = ANSWER_FLOOR_QUANTILE,
) -> dict[str, float | int | str | None]:
    docs = faq_documents(train)
    queries, gold = [r.text for r in test], [r.label for r in test]
    started = time.perf_counter()
    index = HybridIndex.build(docs, embedder, options, progress=True)
    build_s = time.perf_counter() - started
    index.embedder = query_embedder  # queries are embedded live: latency includes the query embedding
    _log(f"searching {len(queries)} queries (hybrid)")
    hits = [index.search(q, k) for q in queries]
    ranked = [[h.doc_id for h in row] for row in hits]
    seconds = per_message_seconds(lambda q: index.search(q, k), queries[:500])
    result: dict[str, float | int | str | None] = {
        "n_entries": len(docs),
        "n_variants": len(train),
        "n_queries": len(queries),
        "fusion": index.options.fusion,
        **rank_metrics(ranked, gold, k),
        **latency_ms(seconds),
        "build_seconds": build_s,
    }
    started = time.perf_counter()
    baseline = TfidfFaq(docs)
    base_build = time.perf_counter() - started
    _log("searching (tf-idf baseline)")
    base_ranked = [baseline.search(q, k) for q in queries]
    base_seconds = per_message_seconds(lambda q: baseline.search(q, k), queries[:500])
    base = {**rank_metrics(base_ranked, gold, k), **latency_ms(base_seconds), "build_seconds": base_build}
    result.update({f"baseline_{key}": value for key, value in base.items()})
    if unanswerable:
        _log(f"searching {len(unanswerable)} unanswerable queries")
        stray = [index.search(r.text, k) for r in unanswerable]
        result["n_unanswerable"] = len(unanswerable)
        result |= _answer_rules(index, hits, gold, stray, answer_min_score, floor_quantile)
    return result


def dev_split(train: list[Labelled], share: float = 0.2) -> tuple[list[Labelled], list[Labelled]]:
    """Deterministic split of the training file (md5 of the normalised text) into FAQ variants and dev
    queries; dev queries whose label has no variant left are dropped."""

    def bucket(text: str) -> float:
        return int(hashlib.md5(normalise(text).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    dev = [r for r in train if bucket(r.text) < share]
    rest = [r for r in train if bucket(r.text) >= share]
    labels = {r.label for r in rest}
    return rest, [r for r in dev if r.label in labels]


def tune_fusion(
    train: list[Labelled],
    *,
    embedder: Embedder,
    k: int = 10,
    unanswerable: list[Labelled] | None = None,
    answer_min_score: float = ANSWER_MIN_SCORE,
) -> dict[str, dict[str, float | None]]:
    """Every fusion in TUNING_GRID on a dev slice of the training file (never the test file); with
    unanswerable (dev) queries, also the answer rule at each of FLOOR_QUANTILES (default fusion)."""
    rest, dev = dev_split(train)
    docs = faq_documents(rest)
    vectors = embedder.embed_queries([r.text for r in dev])
    index = HybridIndex.build(docs, embedder, progress=True)
    out: dict[str, dict[str, float | None]] = {}
    for name, options in TUNING_GRID.items():
        index.options = options
        ranked = [[h.doc_id for h in index.search(r.text, k, vector=v)] for r, v in zip(dev, vectors, strict=True)]
        out[name] = dict(rank_metrics(ranked, [r.label for r in dev], k))
        _log(f"{name}: MRR@{k}={out[name][f'mrr_at_{k}']:.4f}")
    if unanswerable:
        index.options = IndexOptions()
        hits = [index.search(r.text, k, vector=v) for r, v in zip(dev, vectors, strict=True)]
        stray_vectors = embedder.embed_queries([r.text for r in unanswerable])
        stray = [index.search(r.text, k, vector=v) for r, v in zip(unanswerable, stray_vectors, strict=True)]
        for quantile in FLOOR_QUANTILES:
            out[f"answer floor q={quantile}"] = _answer_rules(
                index, hits, [r.label for r in dev], stray, answer_min_score, quantile
            )
    return out


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
