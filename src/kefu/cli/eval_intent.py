"""`kefu eval intent` — intent accuracy / OOS detection / latency next to a TF-IDF + LinearSVC baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kefu.cli.eval_output import emit, load_or_exit

_ROWS = [
    ("accuracy", "accuracy (all test rows)"),
    ("in_scope_accuracy", "in-scope accuracy"),
    ("macro_f1", "macro-F1"),
    ("oos_recall", "OOS recall"),
    ("oos_precision", "OOS precision"),
    ("latency_p50_ms", "latency p50 (ms/message)"),
    ("latency_p95_ms", "latency p95 (ms/message)"),
    ("train_seconds", "training time (s)"),
]


def register(app: typer.Typer) -> None:
    app.command("intent")(eval_intent)


def eval_intent(
    train: Annotated[Path | None, typer.Option(help="Training file: JSONL {text,label} or CSV text,label.")] = None,
    test: Annotated[Path | None, typer.Option(help="Test file, same format; used only for scoring.")] = None,
    shots: Annotated[
        int | None,
        typer.Option(
            min=1, help="Few-shot episodes: this many examples per intent (from --train, or per --domains domain)."
        ),
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, help="With --shots: how many seeded episodes.")] = 8,
    domains: Annotated[
        Path | None,
        typer.Option(
            help="With --shots: JSONL {text,label,domain}; one episode per domain (support and query from it)."
        ),
    ] = None,
    max_query: Annotated[
        int | None, typer.Option(min=1, help="With --shots and --test: score this many test rows per episode.")
    ] = None,
    oos_label: Annotated[str | None, typer.Option(help="Label of out-of-scope rows, e.g. oos.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Last stdout line: one JSON object.")] = False,
    cache_dir: Annotated[Path, typer.Option(help="On-disk embedding cache.")] = Path("var/cache/embeddings"),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the held-out calibration slice.")] = 0,
    max_in_scope_loss: Annotated[
        float | None,
        typer.Option(help="OOS rule: the most OOS recall losing at most this held-out in-scope accuracy [0.02]."),
    ] = None,
    balanced_oos: Annotated[
        bool, typer.Option("--balanced-oos", help="OOS rule: maximise ½ in-scope accuracy + ½ OOS recall instead.")
    ] = False,
    fine_tune: Annotated[
        bool | None,
        typer.Option(
            "--fine-tune/--no-fine-tune",
            help="Blend in fine-tuned upper encoder layers (needs PyTorch) [default: with 200+ examples].",
        ),
    ] = None,
) -> None:
    """Train on --train only, score on --test; prints the model next to the baseline. With --shots: few-shot
    episodes, each trained on its own K examples per intent (mean accuracy and share rejected, next to the
    baseline trained on the same rows)."""
    from kefu.cli.main import settings_embedder
    from kefu.nlp.evaluation.cache import CachedEmbedder
    from kefu.nlp.evaluation.intent import run_intent_eval
    from kefu.nlp.intent_threshold import DEFAULT_MAX_IN_SCOPE_LOSS

    if max_in_scope_loss is None:
        max_in_scope_loss = DEFAULT_MAX_IN_SCOPE_LOSS
    if shots is None and (train is None or test is None):
        raise typer.BadParameter("give --train and --test, or --shots with --domains (or with --train and --test)")
    if shots is not None and domains is None and (train is None or test is None):
        raise typer.BadParameter("--shots needs --domains FILE, or --train and --test")

    base = settings_embedder()
    embedder = base if no_cache else CachedEmbedder(base, cache_dir)
    if shots is not None:
        _episodes(shots, episodes, domains, train, test, max_query, embedder, seed, fine_tune, json_out)
        return
    assert train is not None and test is not None
    train_rows, test_rows = load_or_exit(train), load_or_exit(test)
    result = run_intent_eval(
        train_rows,
        test_rows,
        oos_label=oos_label,
        embedder=embedder,
        seed=seed,
        max_in_scope_loss=None if balanced_oos else max_in_scope_loss,
        fine_tune=fine_tune,
    )
    rows = [(key, title) for key, title in _ROWS if key in result]
    emit(
        f"intent: train {result['n_train']} rows, test {result['n_test']} rows, "
        f"OOS threshold {result['threshold']}, margin {result['oos_margin']}, "
        f"fine-tuned {'yes' if result['fine_tuned'] else 'no'}",
        rows,
        result,
        json_out,
    )


_EPISODE_ROWS = [
    ("accuracy", "mean accuracy"),  # a rejected in-domain question counts as wrong
    ("min_accuracy", "lowest episode accuracy"),
    ("rejected_share", "share rejected (OOS)"),
    ("top_accuracy", "best label, no rejection"),
    ("below_baseline", "episodes below baseline"),
]


def _episodes(
    shots: int,
    n: int,
    domains: Path | None,
    train: Path | None,
    test: Path | None,
    max_query: int | None,
    embedder: Any,
    seed: int,
    fine_tune: bool | None,
    json_out: bool,
) -> None:
    from kefu.nlp.evaluation.data import DataError
    from kefu.nlp.evaluation.episodes import domain_episodes, load_domain_rows, run_episodes, sampled_episodes
    from kefu.nlp.intent import IntentModel

    try:
        if domains is not None:
            eps = domain_episodes(load_domain_rows(domains), shots, n, seed=seed)
        else:
            assert train is not None and test is not None
            eps = sampled_episodes(load_or_exit(train), load_or_exit(test), shots, n, seed=seed, max_query=max_query)
    except (DataError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None

    def train_model(support: list[tuple[str, str]]) -> IntentModel:
        return IntentModel.train(support, embedder=embedder, seed=seed, fine_tune=fine_tune or False)

    result = run_episodes(eps, train_model, embedder=embedder)
    rows = [(key, title) for key, title in _EPISODE_ROWS]
    base = {"accuracy": "baseline_accuracy", "min_accuracy": "baseline_min_accuracy"}
    shown = dict(result)
    for key, other in base.items():
        shown[f"baseline_{key}"] = result[other]
    shown["baseline_rejected_share"] = 0.0  # the baseline never rejects
    emit(f"intent few-shot: {shots} per intent, {len(eps)} episodes", rows, shown, json_out)
