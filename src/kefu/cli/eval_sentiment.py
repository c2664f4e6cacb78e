"""`kefu eval sentiment` — sentiment accuracy / macro-F1 / latency next to a TF-IDF + LinearSVC baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kefu.cli.eval_output import emit, load_or_exit

_ROWS = [
    ("accuracy", "accuracy"),
    ("macro_f1", "macro-F1"),
    ("latency_p50_ms", "latency p50 (ms/message)"),
    ("latency_p95_ms", "latency p95 (ms/message)"),
    ("train_seconds", "training time (s)"),
]


def register(app: typer.Typer) -> None:
    app.command("sentiment")(eval_sentiment)


def eval_sentiment(
    train: Annotated[Path, typer.Option(help="Training file: JSONL {text,label} or CSV text,label.")],
    test: Annotated[Path, typer.Option(help="Test file, same format; used only for scoring.")],
    json_out: Annotated[bool, typer.Option("--json", help="Last stdout line: one JSON object.")] = False,
    dense: Annotated[
        bool,
        typer.Option(
            help="Use embeddings next to TF-IDF (--no-dense: TF-IDF only, for very large sets of long texts)."
        ),
    ] = True,
    cache_dir: Annotated[Path, typer.Option(help="On-disk embedding cache.")] = Path("var/cache/embeddings"),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")] = False,
    fine_tune: Annotated[
        bool,
        typer.Option(help="Blend in fine-tuned upper encoder layers (needs PyTorch and --dense; slow on long texts)."),
    ] = False,
) -> None:
    """Train on --train only, score on --test; prints the model next to the baseline."""
    from kefu.cli.main import settings_embedder
    from kefu.nlp.evaluation.cache import CachedEmbedder
    from kefu.nlp.evaluation.sentiment import run_sentiment_eval

    train_rows, test_rows = load_or_exit(train), load_or_exit(test)
    base = settings_embedder()
    embedder = base if no_cache else CachedEmbedder(base, cache_dir)
    if fine_tune and not dense:
        typer.echo("error: --fine-tune needs the embeddings (drop --no-dense)", err=True)
        raise typer.Exit(2)
    result = run_sentiment_eval(train_rows, test_rows, embedder=embedder, dense=dense, fine_tune=fine_tune)
    emit(
        f"sentiment: train {result['n_train']} rows, test {result['n_test']} rows, "
        f"features {'TF-IDF + embeddings' if result['dense'] else 'TF-IDF only'}"
        f"{' + fine-tuned upper layers' if result['fine_tuned'] else ''}; {_guard_line(result['guard'])}",
        _ROWS,
        result,
        json_out,
    )


def _guard_line(guard: dict[str, object]) -> str:
    if not guard:
        return "no training guard"
    e, b = guard.get("ensemble_accuracy"), guard.get("baseline_accuracy")
    slice_ = f" (held-out slice of {guard['slice_size']}: ensemble {e}, baseline {b})" if e is not None else ""
    return f"shipped: {guard['chosen']}{slice_}"
