"""The `kefu` command line (Typer)."""
