"""`kefu eval intent` — intent accuracy / OOS detection / latency next to a TF-IDF + LinearSVC baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    train: Annotated[Path, typer.Option(help="Training file: JSONL {text,label} or CSV text,label.")],
    test: Annotated[Path, typer.Option(help="Test file, same format; used only for scoring.")],
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
    """Train on --train only, score on --test; prints the model next to the baseline."""
    from kefu.cli.main import settings_embedder
    from kefu.nlp.evaluation.cache import CachedEmbedder
    from kefu.nlp.evaluation.intent import run_intent_eval
    from kefu.nlp.intent_threshold import DEFAULT_MAX_IN_SCOPE_LOSS

    if max_in_scope_loss is None:
        max_in_scope_loss = DEFAULT_MAX_IN_SCOPE_LOSS

    train_rows, test_rows = load_or_exit(train), load_or_exit(test)
    base = settings_embedder()
    embedder = base if no_cache else CachedEmbedder(base, cache_dir)
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
