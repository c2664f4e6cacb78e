"""`kefu eval intent|sentiment` on the small fixture files: exact output shape and exact metric values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli.main import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def _run(*args: str) -> tuple[dict[str, object], str]:
    result = runner.invoke(app, ["eval", *args, "--json", "--no-cache"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]), result.stdout


def test_eval_intent_with_oos_label() -> None:
    data, out = _run(
        "intent",
        "--train",
        str(FIXTURES / "intent_train.jsonl"),
        "--test",
        str(FIXTURES / "intent_test.jsonl"),
        "--oos-label",
        "oos",
    )
    assert {
        k: data[k]
        for k in ("accuracy", "in_scope_accuracy", "oos_recall", "oos_precision", "macro_f1", "n_train", "n_test")
    } == {
        "accuracy": 1.0,
        "in_scope_accuracy": 1.0,
        "oos_recall": 1.0,
        "oos_precision": 1.0,
        "macro_f1": 1.0,
        "n_train": 40,
        "n_test": 10,
    }
    assert data["baseline_accuracy"] == 1.0
    assert data["latency_p95_ms"] > 0
    assert "OOS recall" in out
    assert out.splitlines()[0] == (
        f"intent: train 40 rows, test 10 rows, OOS threshold {data['threshold']}, margin {data['oos_margin']}, "
        "fine-tuned no"  # 40 examples: below finetune.MIN_EXAMPLES
    )


def test_eval_intent_reads_csv_and_has_no_oos_keys_without_oos_label(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "intent_train.jsonl").read_text().splitlines()]
    csv_path = tmp_path / "train.csv"
    csv_path.write_text(
        "text,label\n" + "".join(f'"{r["text"]}",{r["label"]}\n' for r in rows if r["label"] != "oos"), encoding="utf-8"
    )
    data, _ = _run("intent", "--train", str(csv_path), "--test", str(FIXTURES / "intent_test.jsonl"))
    assert "oos_recall" not in data
    assert data["n_train"] == 32


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "hi"}\n', "expected an object with 'text' and 'label'"),
        ("not json\n", "not valid JSON"),
    ],
)
def test_eval_intent_reports_bad_files(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["eval", "intent", "--train", str(bad), "--test", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:1: {message}" in result.output


def test_eval_sentiment() -> None:
    data, out = _run(
        "sentiment",
        "--train",
        str(FIXTURES / "sentiment_train.jsonl"),
        "--test",
        str(FIXTURES / "sentiment_test.jsonl"),
    )
    keys = ("accuracy", "macro_f1", "baseline_accuracy", "n_train", "n_test", "dense")
    assert {k: data[k] for k in keys} == {
        "accuracy": 1.0,
        "macro_f1": 1.0,
        "baseline_accuracy": 1.0,
        "n_train": 30,
        "n_test": 6,
        "dense": True,
    }
    assert data["guard"] == {
        "chosen": "ensemble",
        "slice_size": 6,
        "ensemble_accuracy": None,
        "baseline_accuracy": None,
        "reason": "too few examples for a calibration slice (6 < 30): no guard",
    }
    title = "sentiment: train 30 rows, test 6 rows, features TF-IDF + embeddings; shipped: ensemble"
    assert out.splitlines()[0] == title


def test_eval_intent_few_shot_episodes_by_domain() -> None:
    data, out = _run("intent", "--shots", "3", "--episodes", "2", "--domains", str(FIXTURES / "fewshot_domains.jsonl"))
    per = [
        (e["name"], e["n_support"], e["n_query"], e["accuracy"], e["baseline_accuracy"]) for e in data["per_episode"]
    ]
    # the weather questions share no words with the support rows: TF-IDF misses both, the encoder does not
    assert per == [("aircon", 6, 4, 1.0, 1.0), ("weather", 6, 2, 1.0, 0.0)]
    assert (data["accuracy"], data["baseline_accuracy"], data["rejected_share"], data["below_baseline"]) == (
        1.0,
        0.5,
        0.0,
        0,
    )
    lines = out.splitlines()
    assert lines[0] == "intent few-shot: 3 per intent, 2 episodes"
    assert lines[2].split() == ["mean", "accuracy", "100.00%", "50.00%"]
    assert lines[3].split() == ["lowest", "episode", "accuracy", "100.00%", "0.00%"]
    assert lines[4].split() == ["share", "rejected", "(OOS)", "0.00%", "0.00%"]
    assert lines[6].split() == ["episodes", "below", "baseline", "0", "-"]


def test_eval_intent_few_shot_from_train_and_test() -> None:
    data, _ = _run(
        "intent", "--shots", "1", "--episodes", "2",
        "--train", str(FIXTURES / "intent_train.jsonl"), "--test", str(FIXTURES / "intent_test.jsonl"),
    )  # fmt: skip
    labels = {json.loads(line)["label"] for line in (FIXTURES / "intent_train.jsonl").read_text().splitlines()}
    assert [(e["n_support"], e["n_query"]) for e in data["per_episode"]] == [(len(labels), 10)] * 2


def test_eval_intent_needs_its_files() -> None:
    result = runner.invoke(app, ["eval", "intent", "--shots", "3"])
    assert result.exit_code == 2
    assert "--shots needs --domains FILE, or --train and --test" in result.output
    result = runner.invoke(app, ["eval", "intent"])
    assert result.exit_code == 2
    assert "give --train and --test, or --shots with --domains" in result.output
