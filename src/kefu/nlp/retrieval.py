"""Hybrid FAQ / article index: BM25 (bm25s over kefu's tokeniser) + dense vectors, fused per document.

A document has question variants (and optionally a body/answer); each is one row. A document's score
on each side is the max over its rows. Fusion is reciprocal-rank fusion by default (chosen on dev slices
of banking77 and smp2017 train, see docs/results/history.md); "weighted" = alpha·cosine + (1-alpha)·bm25/max.

Edits are incremental: add/update/remove embed only the changed texts, append to the dense matrix and
go to the BM25 delta segment; the delta is merged (`compact`) when it passes `delta_limit` rows.

Answer confidence: a cosine alone says little (the bundled e5 puts most pairs between 0.75 and 0.9, and
higher for Chinese than for English), so each hit also carries a *relative* score — its cosine minus the
query's mean cosine to the other documents' rows — and `answer_floor` says what relative score this
index's own question variants reach when each is matched back to its document (docs/knowledge.md).
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import numpy as np

from kefu.nlp.embed import Embedder, get_embedder
from kefu.nlp.retrieval_dense import DenseStore, top_indices
from kefu.nlp.retrieval_sparse import SparseStore
from kefu.nlp.tokenise import tokenise

Fusion = Literal["rrf", "weighted", "dense", "bm25"]  # the last two are single-side ablations
_BATCH = 256
#: the share of an index's own question variants whose relative score falls below its answer floor; chosen
#: on dev slices (smp2017 train with its chat rows, banking77 train with bitext dev; docs/results/history.md)
ANSWER_FLOOR_QUANTILE = 0.05
#: cosine an answer needs at least (the bot's default `answer_min_score`): only far misses fall below it
ANSWER_MIN_SCORE = 0.86
FLOOR_SAMPLE = 300  # question variants matched back to their document to place the floor
FLOOR_MIN_RIGHT = 10  # fewer matched back correctly: no floor (a knowledge base too small to say)


@dataclass(frozen=True)
class Document:
    id: str
    texts: list[str]  # question variants (or title)
    body: str | None = None  # answer / article body; indexed as one more row when index_body
    language: str | None = None


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float  # fused
    bm25_score: float
    dense_score: float  # cosine
    matched_text: str  # the row of the document closest to the query
    relative_score: float = 0.0  # cosine minus the query's mean cosine to the other documents' rows


def answerable(cosine: float, relative: float, *, min_score: float, floor: float | None) -> bool:
    """The answer rule (kefu.bot.policy, `kefu eval faq`): the cosine floor, and the answer floor when
    there is one (None: the cosine floor alone)."""
    return cosine >= min_score and (floor is None or relative >= floor)


@dataclass
class IndexOptions:
    fusion: Fusion = "rrf"
    rrf_k: int = 60
    alpha: float = 0.5
    depth: int = 50  # documents taken from each side before fusion
    shortlist: int = 1000  # rows re-scored exactly after the projected dense pass
    shortlist_from: int = 20_000  # rows before the projected dense pass is used
    delta_limit: int = 2000  # BM25 delta rows before an automatic compact()
    index_body: bool = True


@dataclass
class _Rows:
    doc: list[str | None] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class HybridIndex:
    def __init__(self, embedder: Embedder | None = None, options: IndexOptions | None = None) -> None:
        self.embedder = embedder or get_embedder()
        self.options = options or IndexOptions()
        self.dense = DenseStore(self.embedder.dim, self.options.shortlist_from)
        self.sparse = SparseStore()
        self.documents: dict[str, Document] = {}
        self._doc_rows: dict[str, list[int]] = {}
        self._rows = _Rows()
        # answer_floor per (quantile, filter): (floor, self._edits when placed)
        self._floors: dict[tuple[float, Any], tuple[float | None, int]] = {}
        self._edits = 0  # documents added, replaced or removed so far

    @classmethod
    def build(
        cls,
        docs: Iterable[Document],
        embedder: Embedder | None = None,
        options: IndexOptions | None = None,
        *,
        progress: bool = False,
    ) -> HybridIndex:
        index = cls(embedder, options)
        index._insert(list(docs), progress=progress)
        index.sparse.compact()
        return index

    def __len__(self) -> int:
        return len(self.documents)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.documents

    def upsert(self, doc: Document) -> None:
        """Add a document or replace the one with the same id (embeds only this document's texts)."""
        if doc.id in self.documents:
            self.remove(doc.id)
        self._insert([doc], progress=False)
        if self.sparse.delta_size > self.options.delta_limit:
            self.compact()

    add = upsert

    def remove(self, doc_id: str) -> None:
        self._edits += 1
        rows = self._doc_rows.pop(doc_id)
        del self.documents[doc_id]
        self.dense.kill(rows)
        for row in rows:
            self.sparse.remove(row)
            self._rows.doc[row] = None

    def compact(self) -> None:
        """Merge the BM25 delta into the main segment and refresh the dense projection."""
        self.sparse.compact()
        if self.dense.basis is not None:
            self.dense.fit_projection()

    def _insert(self, docs: list[Document], *, progress: bool) -> None:
        self._edits += len(docs)
        pending = [(doc.id, text) for doc in docs for text in self._texts_of(doc)]
        started = time.perf_counter()
        for start in range(0, len(pending), _BATCH):
            batch = pending[start : start + _BATCH]
            rows = self.dense.append(self.embedder.embed_passages([text for _, text in batch]))
            for row, (doc_id, text) in zip(rows.tolist(), batch, strict=True):
                self._rows.doc.append(doc_id)
                self._rows.text.append(text)
                self._doc_rows.setdefault(doc_id, []).append(row)
                self.sparse.add(row, tokenise(text))
            if progress:
                _report(start + len(batch), len(pending), started)
        self.documents.update((doc.id, doc) for doc in docs)

    def _texts_of(self, doc: Document) -> list[str]:
        texts = [t for t in doc.texts if t.strip()]
        if self.options.index_body and doc.body and doc.body.strip():
            texts.append(doc.body)
        return texts or [doc.id]

    def search(self, query: str, k: int = 10, *, vector: np.ndarray | None = None) -> list[Hit]:
        """Best `k` documents for `query`; `vector` = its query embedding if the caller already has it."""
        if not self.documents or not query.strip():
            return []
        if vector is None:
            vector = self.embedder.embed_queries([query])[0]
        depth = max(self.options.depth, k)
        dense_rows, _ = self.dense.top_rows(vector, depth * 4, self.options.shortlist)
        bm25_rows, bm25_scores = self.sparse.scores(tokenise(query))
        order = top_indices(bm25_scores, depth * 4)
        candidates = self._first_docs(dense_rows, depth) | self._first_docs(bm25_rows[order], depth)
        row_bm25 = np.zeros(len(self._rows.doc), dtype=np.float32)
        row_bm25[bm25_rows] = bm25_scores
        hits = self._fuse(self._hits(list(candidates), vector, row_bm25))
        if not hits:
            return []
        # one background per query (the closest document's others), so differences between hits stay cosines
        background = self.background(vector, max(hits, key=lambda h: h.dense_score).doc_id)
        return [replace(h, relative_score=h.dense_score - background) for h in hits[:k]]

    def background(self, vector: np.ndarray, doc_id: str) -> float:
        """Mean cosine of `vector` to the live rows of every document except `doc_id` (0.0 if there are none)."""
        own = self._doc_rows.get(doc_id, [])
        others = self.dense.n_live - len(own)
        if others <= 0:
            return 0.0
        total = self.dense.total - (self.dense.sum_of(own) if own else 0.0)
        return float(total @ np.asarray(vector, dtype=np.float64)) / others

    def answer_floor(
        self,
        quantile: float = ANSWER_FLOOR_QUANTILE,
        *,
        sample: int = FLOOR_SAMPLE,
        eligible: Callable[[str], bool] | None = None,
    ) -> float | None:
        """The relative score that all but `quantile` of this index's question variants reach when each,
        left out, is matched back to its own document (and comes first) — how close a real rewording of a
        question comes in this knowledge base. Variants stand in for queries through their stored
        (passage) vectors, so no text is embedded. Documents with at least two question variants take
        part (`eligible(doc_id)` may narrow them); a deterministic sample of `sample` variants is used.
        None when fewer than FLOOR_MIN_RIGHT variants were matched back.

        Cached until more than 1 % of the documents have been edited since it was placed (any edit below
        100 documents): placing it costs ~0.3 ms per 1,000 rows and sampled variant — 3.4 s at 200k rows —
        and one edit among thousands of entries moves it by noise."""
        key = (float(quantile), eligible)
        cached = self._floors.get(key)
        if cached is None or self._edits - cached[1] > len(self.documents) // 100:
            cached = (self._answer_floor(float(quantile), sample, eligible), self._edits)
            self._floors[key] = cached
        return cached[0]

    def _answer_floor(self, quantile: float, sample: int, eligible: Callable[[str], bool] | None) -> float | None:
        variant_rows: list[tuple[str, int]] = []
        for doc_id, doc in self.documents.items():
            n_texts = sum(1 for t in doc.texts if t.strip())
            if n_texts >= 2 and (eligible is None or eligible(doc_id)):
                variant_rows.extend((doc_id, row) for row in self._doc_rows[doc_id][:n_texts])
        if len(variant_rows) < FLOOR_MIN_RIGHT:
            return None
        step = max(1, len(variant_rows) // sample)  # every step-th variant: deterministic, spread over docs
        scores: list[float] = []
        for doc_id, row in variant_rows[::step][:sample]:
            own = self._doc_rows[doc_id]
            vector = self.dense.vectors[row].astype(np.float32)
            rows, cosines = self.dense.top_rows(vector, len(own) + 1, self.options.shortlist)
            pairs = [(r in own, c) for r, c in zip(rows.tolist(), cosines.tolist(), strict=True) if r != row]
            best_own = max((c for mine, c in pairs if mine), default=None)
            best_other = max((c for mine, c in pairs if not mine), default=None)
            if best_own is not None and (best_other is None or best_own > best_other):  # matched back
                scores.append(best_own - self.background(vector, doc_id))
        if len(scores) < FLOOR_MIN_RIGHT:
            return None
        return float(np.quantile(np.asarray(scores), quantile))

    def _first_docs(self, rows: np.ndarray, limit: int) -> dict[str, None]:
        docs: dict[str, None] = {}
        for row in rows.tolist():
            doc_id = self._rows.doc[row]
            if doc_id is not None:
                docs[doc_id] = None
                if len(docs) == limit:
                    break
        return docs

    def _hits(self, doc_ids: list[str], vector: np.ndarray, row_bm25: np.ndarray) -> list[Hit]:
        """Per document: the max BM25 and cosine over its rows, and its row closest to the query (the first
        on ties) — all candidates' rows scored in one pass."""
        if not doc_ids:
            return []
        row_lists = [self._doc_rows[doc_id] for doc_id in doc_ids]
        sizes = np.fromiter(map(len, row_lists), dtype=np.int64, count=len(row_lists))
        rows = np.fromiter(chain.from_iterable(row_lists), dtype=np.int64, count=int(sizes.sum()))
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        cosines = self.dense.exact(rows, vector)
        dense_max = np.maximum.reduceat(cosines, starts)
        bm25_max = np.maximum.reduceat(row_bm25[rows], starts)
        at_max = np.flatnonzero(cosines == np.repeat(dense_max, sizes))
        _, first = np.unique(np.repeat(np.arange(len(doc_ids)), sizes)[at_max], return_index=True)
        best_rows = rows[at_max[first]].tolist()
        return [
            Hit(doc_id, 0.0, bm, dm, self._rows.text[row])
            for doc_id, bm, dm, row in zip(doc_ids, bm25_max.tolist(), dense_max.tolist(), best_rows, strict=True)
        ]

    def _fuse(self, hits: list[Hit]) -> list[Hit]:
        if self.options.fusion in ("dense", "bm25"):
            scores = [h.dense_score if self.options.fusion == "dense" else h.bm25_score for h in hits]
        elif self.options.fusion == "weighted":
            top_bm25 = max((h.bm25_score for h in hits), default=0.0) or 1.0
            alpha = self.options.alpha
            scores = [alpha * h.dense_score + (1 - alpha) * h.bm25_score / top_bm25 for h in hits]
        else:
            scores = _rrf(hits, self.options.rrf_k)
        fused = [
            Hit(h.doc_id, s, h.bm25_score, h.dense_score, h.matched_text) for h, s in zip(hits, scores, strict=True)
        ]
        return sorted(fused, key=lambda h: (-h.score, -h.dense_score, h.doc_id))

    # -- serialisation -----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """One .npz blob: options, documents and live vectors (BM25 is rebuilt from tokens on load)."""
        rows = [row for doc_id in self.documents for row in self._doc_rows[doc_id]]
        meta = {
            "version": 1,
            "dim": self.dense.dim,
            "options": asdict(self.options),
            "documents": [asdict(doc) for doc in self.documents.values()],
            "rows": [[self._rows.doc[r], self._rows.text[r]] for r in rows],
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            vectors=self.dense.vectors[rows],
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, embedder: Embedder | None = None) -> HybridIndex:
        with np.load(io.BytesIO(blob)) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            vectors = data["vectors"]
        index = cls(embedder, IndexOptions(**meta["options"]))
        if index.embedder.dim != meta["dim"]:
            raise ValueError(
                f"index was built with {meta['dim']}-dim vectors, the embedder gives "
                f"{index.embedder.dim}: rebuild the index for this embedder"
            )
        index.documents = {d["id"]: Document(**d) for d in meta["documents"]}
        for row, (doc_id, text) in zip(index.dense.append(vectors).tolist(), meta["rows"], strict=True):
            index._rows.doc.append(doc_id)
            index._rows.text.append(text)
            index._doc_rows.setdefault(doc_id, []).append(row)
            index.sparse.add(row, tokenise(text))
        index.sparse.compact()
        return index

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: str | Path, embedder: Embedder | None = None) -> HybridIndex:
        return cls.from_bytes(Path(path).read_bytes(), embedder)


def _rrf(hits: list[Hit], rrf_k: int) -> list[float]:
    scores = [0.0] * len(hits)
    by_dense = sorted(range(len(hits)), key=lambda i: -hits[i].dense_score)
    matched = [i for i in range(len(hits)) if hits[i].bm25_score > 0]
    by_bm25 = sorted(matched, key=lambda i: -hits[i].bm25_score)
    for ranking in (by_dense, by_bm25):
        for rank, i in enumerate(ranking, start=1):
            scores[i] += 1.0 / (rrf_k + rank)
    return scores


def _report(done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(
        f"\rembedding {done}/{total} texts ({rate:.0f}/s)",
        end="" if done < total else "\n",
        file=sys.stderr,
        flush=True,
    )
