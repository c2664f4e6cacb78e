"""Shared output of the `kefu eval intent|sentiment` commands: a model-vs-baseline table, or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from kefu.nlp.evaluation.data import DataError, Labelled, load_labelled


def load_or_exit(path: Path) -> list[Labelled]:
    try:
        rows = load_labelled(path)
    except DataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not rows:
        typer.echo(f"error: {path}: no labelled rows", err=True)
        raise typer.Exit(2)
    return rows


def emit(title: str, rows: list[tuple[str, str]], result: dict[str, Any], json_out: bool) -> None:
    """Prints `metric | model | baseline` lines; with `json_out` the last line is the JSON object."""
    typer.echo(title)
    typer.echo(f"{'metric':<28}{'model':>12}{'baseline':>12}")
    for key, label in rows:
        model, base = _fmt(key, result.get(key)), _fmt(key, result.get(f"baseline_{key}"))
        typer.echo(f"{label:<28}{model:>12}{base:>12}")
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if key.endswith(("_ms", "_seconds")):
        return f"{value:.2f}"
    return f"{100 * value:.2f}%"
