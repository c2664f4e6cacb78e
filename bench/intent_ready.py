"""How long until an account has a new intent model after an edit (the quick model of kefu.bot.tasks).

    .venv/bin/python bench/intent_ready.py --train FILE [--json]

Trains, the way the bot's `bot.train_intents` job does (`kefu.bot.nlu.train_intent_model`, no fine-tuning),
on --train (JSONL {text,label}; e.g. BANKING77's train.jsonl, 10k examples), three times in one process:

- "first model": every example embedded (a new account, or the first training after an upgrade);
- "after an edit": one example added, the previous model's example embeddings reused (`previous=`) — what
  an admin waits for after each edit;
- "after an edit, no reuse" (the baseline: the same edit before embeddings were reused).

Then the report on the model's own examples (leave-one-out / 5-fold; computed after the model is live), and,
when PyTorch is installed and --fine-tune is given, the fine-tuned copy trained after it. Times are wall
clock on the real embedder with kefu's thread defaults.
"""

from __future__ import annotations

import kefu  # noqa: F401  (kefu's thread defaults, applied before numpy loads)

# isort: split

import argparse
import json
import os
import time
from pathlib import Path

from kefu.bot import nlu
from kefu.nlp.embed import get_embedder


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [(o["text"], str(o["label"])) for o in map(json.loads, fh) if o["text"].strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--fine-tune", action="store_true", help="also time the fine-tuned copy (minutes)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    examples = _rows(args.train)
    emb = get_embedder()
    emb.embed_queries(["warm up"])
    out: dict[str, float | int] = {"examples": len(examples), "cpus": os.cpu_count() or 0}

    def timed(key: str, fn: object, *a: object, **kw: object) -> object:
        start = time.perf_counter()
        result = fn(*a, **kw)  # type: ignore[operator]
        out[key] = round(time.perf_counter() - start, 2)
        print(f"{key}: {out[key]} s", flush=True)
        return result

    blob, _ = timed("first_model_s", nlu.train_intent_model, examples, embedder=emb, fine_tune=False)  # type: ignore[misc]
    edited = [*examples, ("please tell me how the edit went", examples[0][1])]
    timed("after_edit_s", nlu.train_intent_model, edited, embedder=emb, fine_tune=False, previous=blob)
    timed("after_edit_no_reuse_s", nlu.train_intent_model, edited, embedder=emb, fine_tune=False)
    timed("report_s", nlu.intent_report, examples, blob, embedder=emb)
    if args.fine_tune:
        timed("fine_tuned_copy_s", nlu.train_intent_model, edited, embedder=emb, fine_tune=True)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
