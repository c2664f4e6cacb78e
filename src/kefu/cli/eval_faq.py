"""`kefu eval faq` — FAQ retrieval quality and latency of the hybrid index next to TF-IDF + cosine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kefu.cli.eval_output import emit, load_or_exit

_ROWS = [
    ("mrr_at_10", "MRR@10"),
    ("recall_at_1", "recall@1"),
    ("recall_at_3", "recall@3"),
    ("recall_at_5", "recall@5"),
    ("recall_at_10", "recall@10"),
    ("accuracy_at_1", "accuracy@1"),
    ("latency_p50_ms", "query latency p50 (ms)"),
    ("latency_p95_ms", "query latency p95 (ms)"),
    ("build_seconds", "index build time (s)"),
    ("answered_right", "answered with the right entry"),
    ("answered_wrong", "answered with another entry"),
    ("unanswerable_answered", "unanswerable queries answered"),
    ("answer_precision", "answer precision"),
]


def register(app: typer.Typer) -> None:
    app.command("faq")(eval_faq)


def eval_faq(
    train: Annotated[Path, typer.Option(help="JSONL {text,label}: each label's texts = one FAQ entry's variants.")],
    test: Annotated[Path | None, typer.Option(help="JSONL {text,label}: each text is a query.")] = None,
    k: Annotated[int, typer.Option(help="Results per query.")] = 10,
    fusion: Annotated[str, typer.Option(help="rrf | weighted | dense | bm25")] = "rrf",
    alpha: Annotated[float, typer.Option(help="Dense weight for --fusion weighted.")] = 0.5,
    tune: Annotated[bool, typer.Option("--tune", help="Compare fusions on a dev slice of --train; no test.")] = False,
    unanswerable: Annotated[
        Path | None,
        typer.Option(help="JSONL/CSV texts no entry answers (labels ignored): also score when to answer at all."),
    ] = None,
    unanswerable_label: Annotated[
        str | None,
        typer.Option(
            help="A label whose rows are unanswerable: dropped from --train, --test rows become --unanswerable."
        ),
    ] = None,
    answer_min_score: Annotated[float, typer.Option(help="The bot's cosine floor for an answer.")] = 0.86,
    floor_quantile: Annotated[
        float, typer.Option(help="Share of the entries' own variants below the answer floor.", min=0.0, max=1.0)
    ] = 0.05,
    json_out: Annotated[bool, typer.Option("--json", help="Last stdout line: one JSON object.")] = False,
    cache_dir: Annotated[Path, typer.Option(help="On-disk cache of passage embeddings.")] = Path(
        "var/cache/embeddings"
    ),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")] = False,
) -> None:
    """Builds the index from --train, ranks every --test query; prints hybrid vs TF-IDF baseline."""
    from kefu.cli.main import settings_embedder
    from kefu.nlp.evaluation.cache import CachedEmbedder
    from kefu.nlp.evaluation.faq import run_faq_eval, tune_fusion
    from kefu.nlp.retrieval import IndexOptions

    if test is None and not tune:
        typer.echo("error: --test is required (or --tune to compare fusions on a dev slice of --train)", err=True)
        raise typer.Exit(2)
    if fusion not in ("rrf", "weighted", "dense", "bm25"):
        typer.echo(f"error: --fusion must be rrf, weighted, dense or bm25, not {fusion!r}", err=True)
        raise typer.Exit(2)
    base = settings_embedder()
    embedder = base if no_cache else CachedEmbedder(base, cache_dir)
    train_rows = load_or_exit(train)
    stray = load_or_exit(unanswerable) if unanswerable is not None else None
    tuning = tune or test is None
    test_rows = [] if tuning or test is None else load_or_exit(test)
    if unanswerable_label is not None:
        # tuning reads the training file's unanswerable rows, a test run the test file's
        source = train_rows if tuning else test_rows
        stray = (stray or []) + [r for r in source if r.label == unanswerable_label]
        train_rows = [r for r in train_rows if r.label != unanswerable_label]
        test_rows = [r for r in test_rows if r.label != unanswerable_label]
    if tuning:
        tuned = tune_fusion(train_rows, embedder=embedder, k=k, unanswerable=stray, answer_min_score=answer_min_score)
        for name, metrics in tuned.items():
            typer.echo(f"{name:<22}" + "  ".join(f"{key}={_num(value)}" for key, value in metrics.items()))
        return
    options = IndexOptions(fusion=fusion, alpha=alpha)  # type: ignore[arg-type]
    result = run_faq_eval(
        train_rows,
        test_rows,
        embedder=embedder,
        query_embedder=base,
        k=k,
        options=options,
        unanswerable=stray,
        answer_min_score=answer_min_score,
        floor_quantile=floor_quantile,
    )
    floor = result.get("answer_floor")
    floor = floor if isinstance(floor, float) else None
    emit(
        f"faq: {result['n_entries']} entries ({result['n_variants']} variants), {result['n_queries']} queries, "
        f"hybrid fusion={result['fusion']} vs TF-IDF + cosine"
        + (f"; answer rows: floor {_num(floor)} (q={floor_quantile}) vs the cosine-only rule" if stray else ""),
        _ROWS,
        result,
        json_out,
    )


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:.4f}"
