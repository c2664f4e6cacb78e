"""`kefu bench charts` draws exactly the recorded numbers, and only charts whose records exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kefu.benchmarks.charts import write_charts


def _record(folder: Path, name: str, result: dict[str, object]) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"name": name, "command": "x", "result": result}), "utf-8")


def test_charts_show_the_recorded_numbers_and_targets(tmp_path: Path) -> None:
    results, out = tmp_path / "results", tmp_path / "charts"
    results.mkdir()
    _record(
        results,
        "ingest-postgres",
        {
            "database": "postgresql+asyncpg",
            "redis": True,
            "server_processes": 2,
            "msgs_per_s": 1270.6,
            "raw_insert_per_s": 2058.0,
            "offered_per_s": 500.0,
            "p50_ms": 11.3,
            "p95_ms": 20.6,
            "p99_ms": 35.6,
        },
    )
    _record(results, "intent-banking77", {"accuracy": 0.9367, "baseline_accuracy": 0.9146})
    _record(results, "intent-banking77-oos", {"in_scope_accuracy": 0.831, "baseline_in_scope_accuracy": 0.8005})
    _record(results, "bot-e2e", {"bot_p95_ms": 42.0})

    written = sorted(p.name for p in write_charts(results, out))
    assert written == ["accuracy.svg", "ingest-latency.svg", "ingest.svg", "latency.svg"]

    ingest = (out / "ingest.svg").read_text("utf-8")
    assert re.findall(r">([\d,.]+ /s)<", ingest) == ["1,271 /s", "2,058 /s"]
    assert ingest.count('stroke="#d03030"') == 2  # the 1,000/s target mark and its legend
    latency = (out / "ingest-latency.svg").read_text("utf-8")
    assert re.findall(r">([\d.]+ ms)<", latency) == ["11.3 ms", "20.6 ms", "35.6 ms"]
    accuracy = (out / "accuracy.svg").read_text("utf-8")
    assert re.findall(r">([\d.]+ %)<", accuracy) == ["93.67 %", "91.46 %", "83.10 %", "80.05 %", "75.00 %"]
    assert ">BANKING77 intent<" in accuracy and ">BANKING77-OOS in-scope<" in accuracy
    assert re.findall(r">([\d.]+ ms)<", (out / "latency.svg").read_text("utf-8")) == ["42.0 ms"]


def test_no_records_no_charts(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    assert write_charts(tmp_path / "results", tmp_path / "charts") == []


def test_the_sockets_charts_show_both_sizes_and_the_memory_target(tmp_path: Path) -> None:
    results, out = tmp_path / "results", tmp_path / "charts"
    results.mkdir()
    small = {"sockets": 1000, "kb_per_socket": 29.5, "delivery_p50_ms": 18.7, "delivery_p95_ms": 69.4}
    big = {"sockets": 10000, "kb_per_socket": 31.0, "delivery_p50_ms": 41.0, "delivery_p95_ms": 72.3}
    _record(
        results,
        "sockets-sqlite",
        {**big, "database": "sqlite+aiosqlite", "redis": False, "nodes": 1, "baseline": small},
    )
    assert sorted(p.name for p in write_charts(results, out)) == ["sockets-delivery.svg", "sockets.svg"]
    memory = (out / "sockets.svg").read_text("utf-8")
    assert re.findall(r">([\d.]+ KB)<", memory) == ["29.5 KB", "31.0 KB"]
    assert memory.count('stroke="#d03030"') == 2  # the 40 KB target mark and its legend
    assert ">1,000 sockets<" in memory and ">10,000 sockets<" in memory
    delivery = (out / "sockets-delivery.svg").read_text("utf-8")
    assert re.findall(r">([\d.]+ ms)<", delivery) == ["18.7 ms", "69.4 ms", "41.0 ms", "72.3 ms"]
