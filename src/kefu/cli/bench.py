"""`kefu bench …` — benchmarks that print numbers next to a baseline."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="Benchmarks (print numbers; not timed tests).", no_args_is_help=True)
