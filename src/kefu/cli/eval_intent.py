"""`kefu eval intent`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the `intent` command to `kefu eval` (filled in by the NLP work)."""
