"""`kefu eval sentiment-lodo`: the per-domain split of a single file, and the leave-one-domain-out choice —
each fold's blend is the best on the *other* domains' dev splits, the test splits decide nothing."""

from __future__ import annotations

from collections import Counter

from tests.nlp.test_guard import CapitalEmbedder, dense_helps
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.nlp.evaluation.data import Labelled
from kefu.nlp.evaluation.sentiment_lodo import Domain, run_lodo, split_file
from kefu.nlp.intent_ensemble import EnsembleConfig

SPARSE = EnsembleConfig(dense_weight=0.0, svm_c=1.0, svm_temperature=3.0, knn_weight=0.0)
DENSE = EnsembleConfig(dense_weight=4.0, svm_c=0.5, svm_temperature=3.0, knn_weight=0.0)


def _rows(pairs: list[tuple[str, str]]) -> list[Labelled]:
    return [Labelled(text, label) for text, label in pairs]


def _word_domain(name: str) -> Domain:
    """The label is a word TF-IDF sees and the capital letter is noise: sparse-only is as good as it gets."""
    rows = _rows([(("Great " if i % 3 else "great ") + f"item {i}", "pos") for i in range(0, 60, 2)])
    rows += _rows([(("Awful " if i % 3 else "awful ") + f"item {i}", "neg") for i in range(1, 60, 2)])
    return Domain(name, rows[::2], rows[1::2], rows[1::4])


def _capital_domain(name: str) -> Domain:
    """Only the embedding (the capital letter) tells the labels apart."""
    rows = _rows(dense_helps(("pos", "neg"), 90))
    return Domain(name, rows[:60], rows[60:], rows[60:])


def test_split_file_is_stratified_deterministic_and_disjoint() -> None:
    rows = [Labelled(f"text {i}", "a" if i % 3 else "b") for i in range(100)]
    train, dev, test = split_file(rows)
    assert (len(train), len(dev), len(test)) == (60, 20, 20)
    assert Counter(r.label for r in dev) == Counter({"a": 13, "b": 7})
    assert {r.text for r in train} & {r.text for r in dev} == set() == {r.text for r in dev} & {r.text for r in test}
    assert split_file(rows) == (train, dev, test)


def test_each_fold_takes_the_best_blend_on_the_other_domains() -> None:
    domains = [_capital_domain("c1"), _capital_domain("c2"), _word_domain("w")]
    result = run_lodo(domains, embedder=CapitalEmbedder(), candidates=(SPARSE, DENSE))  # type: ignore[arg-type]
    dev = [c["dev_accuracy"] for c in result["candidates"]]
    assert dev[0]["c1"] < 0.7 and dev[1]["c1"] == 1.0 and dev[1]["w"] == 1.0
    folds = {f["domain"]: f for f in result["folds"]}
    assert folds["w"]["chosen"]["dense_weight"] == 4.0  # chosen on c1 and c2, where only the embedding helps
    assert folds["w"]["n_test"] == 15 and folds["w"]["n_train"] == 30
    assert result["chosen_overall"]["dense_weight"] == 4.0
    assert set(folds["c1"]) >= {"accuracy", "macro_f1", "baseline_accuracy", "baseline_macro_f1", "chosen"}
    assert folds["c1"]["accuracy"] == 1.0 and folds["c1"]["baseline_accuracy"] < 0.7
    accuracies = [f["accuracy"] for f in result["folds"]]
    assert result["mean_accuracy"] == round(sum(accuracies) / 3, 4)


def test_the_command_refuses_a_malformed_domain() -> None:
    result = CliRunner().invoke(app, ["eval", "sentiment-lodo", "--domain", "waimai", "--domain", "seed=@seed"])
    assert result.exit_code == 2
    assert "--domain 'waimai': expected NAME=PATH" in result.output
