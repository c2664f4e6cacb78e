"""`kefu eval …` — quality evaluations that print numbers next to an in-command baseline.

Each sub-command lives in its own module and registers itself here.
"""

from __future__ import annotations

import typer

eval_app = typer.Typer(
    help="Evaluate the NLP engine on labelled data (prints numbers next to a baseline).", no_args_is_help=True
)


def _register_all() -> None:
    from kefu.cli import eval_faq, eval_intent, eval_sentiment, eval_sentiment_lodo

    for module in (eval_intent, eval_faq, eval_sentiment, eval_sentiment_lodo):
        module.register(eval_app)


_register_all()
