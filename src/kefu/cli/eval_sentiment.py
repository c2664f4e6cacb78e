"""`kefu eval sentiment`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the `sentiment` command to `kefu eval` (filled in by the NLP work)."""
