"""Entry point of the `kefu` console script."""

from __future__ import annotations

import typer

from kefu.cli.eval import eval_app

app = typer.Typer(help="kefu (客服) — AI customer-service platform.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
