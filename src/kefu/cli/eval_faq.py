"""`kefu eval faq`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the `faq` command to `kefu eval` (filled in by the NLP work)."""
