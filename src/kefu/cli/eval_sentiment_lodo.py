"""`kefu eval sentiment-lodo` — choose the sentiment blend by leave-one-domain-out validation.

Procedure and JSON keys: `kefu.nlp.evaluation.sentiment_lodo`. Progress goes to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("sentiment-lodo")(eval_sentiment_lodo)


def eval_sentiment_lodo(
    domain: Annotated[
        list[str],
        typer.Option(
            help="NAME=PATH, repeated: a folder with train.jsonl, dev.jsonl (or val.jsonl) and test.jsonl, or one "
            "labelled file (split 60/20/20 here, stratified, fixed seed); PATH '@seed' is kefu's own "
            "sentiment_seed.jsonl."
        ),
    ],
    max_train: Annotated[int, typer.Option(help="Training rows sampled per domain (fixed seed; 0 = all).")] = 3000,
    max_dev: Annotated[int, typer.Option(help="Dev rows sampled per domain (fixed seed; 0 = all).")] = 1000,
    json_out: Annotated[bool, typer.Option("--json", help="Last stdout line: one JSON object.")] = False,
    cache_dir: Annotated[Path, typer.Option(help="On-disk embedding cache.")] = Path("var/cache/embeddings"),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")] = False,
) -> None:
    """Choose among the candidate blends on the other domains' dev splits; score each held-out domain's test."""
    from kefu.nlp.embed import get_embedder
    from kefu.nlp.evaluation.cache import CachedEmbedder
    from kefu.nlp.evaluation.data import DataError
    from kefu.nlp.evaluation.sentiment_lodo import load_domain, run_lodo

    domains = []
    for spec in domain:
        name, sep, raw = spec.partition("=")
        if not sep or not name or not raw:
            typer.echo(f"error: --domain {spec!r}: expected NAME=PATH", err=True)
            raise typer.Exit(2)
        try:
            domains.append(load_domain(name, _resolve(raw), max_train=max_train, max_dev=max_dev))
        except DataError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    if len(domains) < 2:
        typer.echo("error: give at least two --domain options", err=True)
        raise typer.Exit(2)
    embedder = get_embedder() if no_cache else CachedEmbedder(get_embedder(), cache_dir)
    result = run_lodo(domains, embedder=embedder)
    result |= {"max_train": max_train, "max_dev": max_dev}
    typer.echo(f"sentiment leave-one-domain-out over {', '.join(result['domains'])}")
    typer.echo(f"{'held-out domain':<20}{'model':>10}{'baseline':>10}  chosen (dense, C, kNN, T)")
    for fold in result["folds"]:
        typer.echo(
            f"{fold['domain']:<20}{100 * fold['accuracy']:>9.2f}%{100 * fold['baseline_accuracy']:>9.2f}%  "
            f"{_short(fold['chosen'])}"
        )
    typer.echo(f"{'mean':<20}{100 * result['mean_accuracy']:>9.2f}%{100 * result['mean_baseline_accuracy']:>9.2f}%")
    typer.echo(f"chosen overall: {_short(result['chosen_overall'])}")
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))


def _resolve(raw: str) -> Path:
    if raw == "@seed":
        from importlib import resources

        return Path(str(resources.files("kefu.nlp").joinpath("data", "sentiment_seed.jsonl")))
    return Path(raw)


def _short(config: dict[str, float]) -> str:
    keys = ("dense_weight", "svm_c", "knn_weight", "svm_temperature")
    return ", ".join(f"{config[k]:g}" for k in keys)
