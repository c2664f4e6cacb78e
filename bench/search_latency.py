"""Hybrid search latency over 100,000 synthetic FAQ entries (zh + en), next to a brute-force baseline.

    .venv/bin/python bench/search_latency.py [--entries 100000] [--variants 1] [--queries 300]
                                             [--vectors real|synthetic] [--cache var/cache/embeddings]

Entries are generated from templates (product × issue × phrasing); nothing is copied from a data set.
`--vectors real` embeds every row with the configured embedder (cached on disk: the first run of 100k rows
takes ~15 min on 2 cores); `synthetic` builds each row vector from real embeddings of its parts plus noise
(fast, for scaling the row count). Queries are always embedded live, so latencies include the
query embedding. The baseline scores every row exactly (float32 matmul + full BM25) and fuses the same way.
"""

from __future__ import annotations

import kefu  # noqa: F401  (kefu's thread defaults, applied before numpy loads)

# isort: split

import argparse
import json
import random
import sys
import time

import numpy as np

from kefu.core.embedding import embedder_from_settings
from kefu.nlp.embed import Embedder, l2_normalise
from kefu.nlp.evaluation.cache import CachedEmbedder
from kefu.nlp.retrieval import Document, HybridIndex
from kefu.nlp.tokenise import tokenise
from kefu.settings import Settings


def _words(text: str, sep: str = " ") -> list[str]:
    return text.split(sep)


BRANDS_ZH = _words(
    "小米 华为 美的 格力 海尔 联想 荣耀 vivo OPPO 苏泊尔 九阳 飞利浦 戴森 科沃斯 石头 追觅 松下 索尼 佳能 大疆"
)
KINDS_ZH = _words(
    "智能手表 蓝牙耳机 扫地机器人 空气炸锅 电饭煲 洗衣机 冰箱 空调 笔记本电脑 平板 手机 路由器 "
    "电动牙刷 吹风机 净水器 加湿器 投影仪 相机 无人机 充电宝 显示器 键盘 鼠标 音箱 电热水壶"
)
SERIES = ["", "Pro", "Max", "Mini", "Lite", "2代", "Plus", "SE"]
ISSUES_ZH = _words(
    "怎么退货 保修期多久 如何开发票 什么时候发货 充不进电怎么办 连不上网络 怎么恢复出厂设置 "
    "有什么颜色 可以分期付款吗 支持七天无理由退货吗 配件在哪里买 说明书在哪里下载 噪音很大正常吗 "
    "屏幕有划痕怎么办 怎么联系售后 能用优惠券吗 运费谁承担 发错货了怎么办 怎么升级固件 续航多久 "
    "防水吗 能换货吗 安装要收费吗 维修网点在哪 退款多久到账"
)
BRANDS_EN = _words("Acme Zenith Nova Orbit Pulse Vertex Lumen Atlas Echo Nimbus Quartz Summit Apex Aurora Bolt")
KINDS_EN = _words(
    "smart watch|wireless earbuds|robot vacuum|air fryer|rice cooker|washing machine|fridge|"
    "air conditioner|laptop|tablet|phone|router|electric toothbrush|hair dryer|water filter|"
    "humidifier|projector|camera|drone|power bank|monitor|keyboard|mouse|speaker|kettle",
    "|",
)
SERIES_EN = [*SERIES[:6], "X", "Ultra"]
ISSUES_EN = _words(
    "how do I return it|how long is the warranty|how can I get an invoice|when will it ship|"
    "it won't charge|it can't connect to wifi|how to factory reset|which colours are available|"
    "can I pay in instalments|is there a 7-day return policy|where can I buy accessories|"
    "where is the manual|it makes a loud noise|the screen is scratched|how do I contact support|"
    "can I use a coupon|who pays for shipping|I received the wrong item|"
    "how to update the firmware|how long does the battery last|is it waterproof|"
    "can I exchange it|is installation free|where is the repair centre|how long does a refund take",
    "|",
)
FRAMES_ZH = ["{p}{i}", "请问{p}{i}？", "我买的{p}{i}", "{p}：{i}", "你好，{p}{i}"]
FRAMES_EN = ["{p}: {i}", "{i} ({p})", "my {p}, {i}?", "question about the {p} - {i}", "{i}? I have the {p}"]


def entries(n: int, variants: int, seed: int = 7) -> list[tuple[Document, str, str]]:
    """(document, product, issue) — half zh, half en, unique (product, issue) pairs."""
    rng = random.Random(seed)
    zh = [(f"{b}{k}{s}", i) for b in BRANDS_ZH for k in KINDS_ZH for s in SERIES for i in ISSUES_ZH]
    en = [(f"{b} {k} {s}".strip(), i) for b in BRANDS_EN for k in KINDS_EN for s in SERIES_EN for i in ISSUES_EN]
    rng.shuffle(zh)
    rng.shuffle(en)
    out = []
    for j, (pairs, frames, lang) in enumerate(((zh, FRAMES_ZH, "zh"), (en, FRAMES_EN, "en"))):
        for idx, (product, issue) in enumerate(pairs[: n // 2 + (n % 2 if j == 0 else 0)]):
            texts = [f.format(p=product, i=issue) for f in rng.sample(frames, variants)]
            out.append((Document(f"{lang}-{idx}", texts, language=lang), product, issue))
    return out


class SyntheticEmbedder:
    """Row vector = normalise(e(product) + e(issue) + noise), parts embedded for real and cached."""

    def __init__(self, base: Embedder, parts: dict[str, tuple[str, str]], seed: int = 3) -> None:
        self.base, self.parts, self.dim = base, parts, base.dim
        self.rng = np.random.default_rng(seed)
        unique = sorted({p for pair in parts.values() for p in pair})
        self.memo = dict(zip(unique, base.embed_passages(unique), strict=True))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        rows = [self.memo[self.parts[t][0]] + self.memo[self.parts[t][1]] for t in texts]
        noise = self.rng.normal(0, 0.02, (len(texts), self.dim)).astype(np.float32)
        return l2_normalise(np.asarray(rows) + noise)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.base.embed_queries(texts)


def queries(data: list[tuple[Document, str, str]], count: int, seed: int = 11) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for doc, product, issue in rng.sample(data, count):
        if doc.language == "zh":
            frame = rng.choice(["{p}{i}啊", "想问下{p}{i}", "{p} {i}"])
        else:
            frame = rng.choice(["{i} for my {p}", "{p} {i}", "hi, {i}? ({p})"])
        out.append((frame.format(p=product, i=issue), doc.id))
    return out


def brute_force(index: HybridIndex, query: str, k: int) -> list[str]:
    """Exact baseline: float32 cosine over every live row + full BM25, per-doc max, RRF over all docs."""
    vector = index.embedder.embed_queries([query])[0]
    n = index.dense.n
    dense = index.dense.vectors[:n].astype(np.float32) @ vector
    dense[~index.dense.alive[:n]] = -np.inf
    bm25 = np.zeros(n, dtype=np.float32)
    rows, scores = index.sparse.scores(tokenise(query))
    bm25[rows] = scores
    docs = np.asarray([d if d is not None else "" for d in index._rows.doc])
    fused: dict[str, float] = {}
    for ranking in (np.argsort(-dense, kind="stable")[:200], np.argsort(-bm25, kind="stable")[:200]):
        seen: list[str] = []
        for row in ranking:
            if docs[row] not in seen:
                seen.append(str(docs[row]))
        for rank, doc in enumerate(seen[:50], start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (60 + rank)
    return sorted(fused, key=lambda d: -fused[d])[:k]


def timed(fn, items):  # type: ignore[no-untyped-def]
    out, seconds = [], []
    for item in items:
        start = time.perf_counter()
        out.append(fn(item))
        seconds.append(time.perf_counter() - start)
    return out, np.asarray(seconds) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--variants", type=int, default=1)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--vectors", choices=["real", "synthetic"], default="real")
    ap.add_argument("--cache", default="var/cache/embeddings")
    ap.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = ap.parse_args()
    base = embedder_from_settings(Settings(env="test")).inner  # KEFU_EMBEDDER… (env=test: writes no secret file)
    data = entries(args.entries, args.variants)
    parts = {t: (p, i) for doc, p, i in data for t in doc.texts}
    cached = CachedEmbedder(base, args.cache)
    builder: Embedder = cached if args.vectors == "real" else SyntheticEmbedder(cached, parts)
    print(f"{len(data)} entries, {len(parts)} rows, vectors={args.vectors}", file=sys.stderr)
    start = time.perf_counter()
    index = HybridIndex.build([d for d, _, _ in data], builder, progress=True)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    floor = index.answer_floor()  # what each edit of a knowledge base this size costs on top (kefu.knowledge)
    floor_s = time.perf_counter() - start
    print(f"answer floor {floor} placed in {floor_s:.2f} s", file=sys.stderr)
    index.embedder = base  # queries are embedded live
    qs = queries(data, args.queries)
    base.embed_queries(["warm-up"])
    hits, hybrid_ms = timed(lambda q: index.search(q[0], 10), qs)
    vectors = {q: base.embed_queries([q])[0] for q, _ in qs}
    index_ms = timed(lambda q: index.search(q[0], 10, vector=vectors[q[0]]), qs)[1]
    exact, brute_ms = timed(lambda q: brute_force(index, q[0], 10), qs)
    embed_only = timed(lambda q: base.embed_queries([q[0]]), qs)[1]
    _print(args, len(parts), (build_s, floor, floor_s), (hybrid_ms, index_ms, brute_ms, embed_only), hits, exact, qs)


def _print(args, rows, building, timings, hits, exact, qs) -> None:  # type: ignore[no-untyped-def]
    hybrid_ms, index_ms, brute_ms, embed_ms = timings
    build_s, floor, floor_s = building

    def pct(ms: np.ndarray) -> str:
        return " ".join(f"p{p}={np.percentile(ms, p):.1f}ms" for p in (50, 95, 99))

    top1 = np.mean([h[0].doc_id == q[1] if h else False for h, q in zip(hits, qs, strict=True)])
    agree = np.mean([len({x.doc_id for x in h} & set(e)) / 10 for h, e in zip(hits, exact, strict=True)])
    print(f"entries={args.entries} rows={rows} vectors={args.vectors} queries={len(qs)} build={build_s:.1f}s")
    print(f"query embedding only : {pct(embed_ms)}")
    print(f"hybrid index search  : {pct(hybrid_ms)}  top1={top1:.3f}")
    print(f"  of which index only: {pct(index_ms)}  (query vector given)")
    print(f"brute-force baseline : {pct(brute_ms)}  top10 overlap with hybrid={agree:.3f}")
    if args.json:
        out: dict[str, float | int | str] = {
            "entries": args.entries,
            "rows": rows,
            "vectors": args.vectors,
            "queries": len(qs),
            "build_s": round(build_s, 1),
            "answer_floor": "none" if floor is None else round(floor, 4),
            "answer_floor_s": round(floor_s, 2),
            "top1": round(float(top1), 3),
            "top10_overlap": round(float(agree), 3),
        }
        for name, ms in (("embed", embed_ms), ("hybrid", hybrid_ms), ("index", index_ms), ("brute", brute_ms)):
            for p in (50, 95, 99):
                out[f"{name}_p{p}_ms"] = round(float(np.percentile(ms, p)), 1)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
