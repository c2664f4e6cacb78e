"""Background jobs: train the account's intent model when its intents change — quickly first, then better.

1. `bot.train_intents` (queued by every edit of intents): the ensemble *without* fine-tuning, reusing the
   active model's example embeddings so only new examples are embedded — the account has a new model
   within a minute (docs/benchmarks.md, "Intent model after an edit"). It becomes the active version, then
   the model's report on its own examples (kefu.nlp.intent_report) is added to its metrics.
2. `bot.finetune_intents` (queued by step 1 when fine-tuning applies: PyTorch, the bundled embedder, 200+
   examples, KEFU_FINETUNE on): the same examples with a fine-tuned copy of the encoder's upper layers
   (ADR 0005). It replaces the quick model only when its blend beat the frozen ensemble on the held-out
   calibration slice; otherwise it is dropped and the quick model stays.

Each training has a `BotTraining` row (state, progress, stage) the admin sees. Training runs in a thread and
never blocks the bot. A newer edit cancels an older job's result: its quick training marks the older open
trainings cancelled, a fine-tuning stops at its next epoch, and a job whose examples changed under it stores
nothing ("stale").
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import threading
from typing import Any

from sqlalchemy.exc import IntegrityError

from kefu.bot import nlu
from kefu.bot.models import BotTraining
from kefu.bot.service import (
    CANCELLED,
    DROPPED,
    FAILED,
    FINETUNE,
    FINETUNE_JOB,
    QUEUED,
    QUICK,
    READY,
    REPLACED,
    TRAIN_JOB,
    TRAINING,
    active_model,
    active_model_hash,
    do_deactivate_models,
    do_set_model_report,
    do_start_training,
    do_store_model,
    do_update_training,
    intent_extras,
    training_examples,
    training_state,
)
from kefu.core.events import bind_bus, rollback
from kefu.core.jobs import JobContext, job

log = logging.getLogger("kefu.bot")
POLL_S = 1.0  # how often a fine-tuning writes its progress and looks for a newer edit
_EPOCH = re.compile(r"epoch (\d+)/(\d+)")


def examples_hash(examples: list[tuple[str, str]], extras: dict[str, list[str]] | None = None) -> str:
    data: Any = sorted(examples) if not extras else [sorted(examples), sorted(extras.items())]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:16]


async def _inputs(ctx: JobContext, account_id: int) -> tuple[list[tuple[str, str]], dict[str, list[str]], str]:
    """The examples, the texts saying what each intent is (description, linked FAQ questions), their hash."""
    async with ctx.sessionmaker() as session:
        examples = await training_examples(session, account_id)
        extras = await intent_extras(session, account_id)
        await session.commit()
    return examples, extras, examples_hash(examples, extras)


@job(TRAIN_JOB)
async def train_intents(ctx: JobContext, account_id: int) -> str:
    """Train a new active version from the intents' examples (no fine-tuning), unless they did not change
    since the active one. Fewer than two intents with examples: no model (the bot answers from knowledge only)."""
    examples, extras, digest = await _inputs(ctx, account_id)
    async with ctx.sessionmaker() as session:
        current = await active_model_hash(session, account_id)
        active = await active_model(session, account_id)
        previous = active.blob if active is not None else None
        await session.commit()
    if digest == current:
        return "unchanged"
    if len({label for _, label in examples}) < 2:
        async with ctx.sessionmaker() as session:
            await do_deactivate_models(session, account_id)
        return "too_few_intents"
    async with ctx.sessionmaker() as session:
        row = await do_start_training(session, account_id, QUICK, digest)
    try:
        blob, metrics = await asyncio.to_thread(
            nlu.train_intent_model,
            examples,
            embedder=ctx.embedder,
            fine_tune=False,
            extra_examples=extras,
            previous=previous,
        )
    except Exception as exc:
        await _finish(ctx, row.id, FAILED, stage=type(exc).__name__)
        raise
    metrics["examples_hash"] = digest
    edited = (await _inputs(ctx, account_id))[2] != digest
    async with ctx.sessionmaker() as session:
        edited = edited or await training_state(session, row.id) == CANCELLED
        duplicate = await active_model_hash(session, account_id) == digest
        await session.commit()
    if duplicate:  # another job of the same examples stored its model first
        await _finish(ctx, row.id, CANCELLED, stage="another training stored first")
        return "superseded"
    if edited:
        # The intents changed while this model trained: the job their change queued trains the current
        # examples, and a stale model finishing last must not become the active one.
        await _finish(ctx, row.id, CANCELLED, stage="a newer edit")
        return "stale"
    async with ctx.sessionmaker() as session:
        bind_bus(session, ctx.bus)
        try:
            model = await do_store_model(session, account_id, blob, metrics)
        except IntegrityError:  # a concurrent training stored the same version number first
            await rollback(session)
            log.info("intent training for account %s lost a race; the other version stays active", account_id)
            model = None
    if model is None:
        await _finish(ctx, row.id, CANCELLED, stage="another training stored first")
        return "superseded"
    await _finish(ctx, row.id, READY, model_id=model.id, detail={"seconds": metrics["train_seconds"]})
    await _report(ctx, examples, model.id, blob)
    if nlu.fine_tuning_applies(len(examples), embedder=ctx.embedder, allowed=ctx.settings.finetune):
        async with ctx.sessionmaker() as session:
            queued = await do_start_training(session, account_id, FINETUNE, digest, state=QUEUED, quick_id=row.id)
        if ctx.runner is not None:
            await ctx.runner.enqueue(FINETUNE_JOB, account_id=account_id, training_id=queued.id)
    return f"v{model.version}"


class _Cancelled(Exception):
    """A newer edit: the fine-tuning stops at its next progress line."""


@job(FINETUNE_JOB)
async def finetune_intents(ctx: JobContext, account_id: int, training_id: int) -> str:
    """Train the fine-tuned copy of the quick model `training_id` follows; replace the quick model only when
    the copy is better on the calibration slice, and only if nothing was edited meanwhile."""
    examples, extras, digest = await _inputs(ctx, account_id)
    async with ctx.sessionmaker() as session:
        row_state = await training_state(session, training_id)
        active = await active_model(session, account_id)
        quick_model_id = active.id if active is not None else None
        active_hash = (active.metrics or {}).get("examples_hash") if active is not None else None
        await session.commit()
    if row_state != QUEUED or active_hash != digest:
        await _finish(ctx, training_id, CANCELLED, stage="a newer edit")
        return "stale"
    await _finish(ctx, training_id, TRAINING, stage="fine-tuning", model_id=quick_model_id)
    cancel = threading.Event()
    progress: dict[str, Any] = {"value": 0.0, "stage": "fine-tuning"}

    def on_line(line: str) -> None:
        match = _EPOCH.search(line)
        if match:
            done, total = int(match.group(1)), int(match.group(2))
            progress["runs"] = progress.get("runs", 0) + (1 if done == 1 else 0)
            progress["value"] = done / total
            progress["stage"] = f"fine-tuning {progress['runs']}: epoch {done}/{total}"
        if cancel.is_set():
            raise _Cancelled

    watcher = asyncio.create_task(_watch(ctx, account_id, training_id, digest, cancel, progress))
    try:
        blob, metrics = await asyncio.to_thread(
            nlu.train_intent_model,
            examples,
            embedder=ctx.embedder,
            fine_tune=True,
            extra_examples=extras,
            progress=on_line,
        )
    except _Cancelled:
        await _finish(ctx, training_id, CANCELLED, stage="a newer edit")
        return "cancelled"
    except Exception as exc:
        await _finish(ctx, training_id, FAILED, stage=type(exc).__name__)
        raise
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    compared = metrics.get("finetune") or {}
    better = (compared.get("blend_accuracy") or 0.0) > (compared.get("ensemble_accuracy") or 1.0)
    detail = {"seconds": metrics["train_seconds"], **compared}
    metrics["examples_hash"] = digest
    edited = (await _inputs(ctx, account_id))[2] != digest
    async with ctx.sessionmaker() as session:
        now_active = await active_model(session, account_id)
        edited = edited or await training_state(session, training_id) == CANCELLED
        report = (now_active.metrics or {}).get("report") if now_active is not None else None
        await session.commit()
    if edited or now_active is None or now_active.id != quick_model_id:
        await _finish(ctx, training_id, CANCELLED, stage="a newer edit", detail=detail)
        return "stale"
    if not better:
        await _finish(ctx, training_id, DROPPED, stage="not better on the calibration slice", detail=detail)
        return "dropped"
    if report is not None:
        metrics["report"] = report
    async with ctx.sessionmaker() as session:
        bind_bus(session, ctx.bus)
        try:
            model = await do_store_model(session, account_id, blob, metrics)
        except IntegrityError:
            await rollback(session)
            model = None
    if model is None:
        await _finish(ctx, training_id, CANCELLED, stage="another training stored first", detail=detail)
        return "superseded"
    await _finish(ctx, training_id, READY, model_id=model.id, detail=detail)
    quick_id = await _quick_of(ctx, training_id)
    if quick_id is not None:
        await _finish(ctx, quick_id, REPLACED, stage="replaced by the fine-tuned model")
    return f"v{model.version}"


async def _quick_of(ctx: JobContext, training_id: int) -> int | None:
    async with ctx.sessionmaker() as session:
        row = await session.get(BotTraining, training_id)
        quick = row.quick_id if row is not None else None
        await session.commit()
    return quick


async def _watch(
    ctx: JobContext, account_id: int, training_id: int, digest: str, cancel: threading.Event, progress: dict[str, Any]
) -> None:
    """Every POLL_S: write the progress; a newer edit (other examples, or the row cancelled) sets `cancel`."""
    written: tuple[float, str] | None = None
    while True:
        await asyncio.sleep(POLL_S)
        if (await _inputs(ctx, account_id))[2] != digest:
            cancel.set()
        now = (round(float(progress["value"]), 3), str(progress["stage"]))
        async with ctx.sessionmaker() as session:
            if now != written:
                state = await do_update_training(session, training_id, progress=now[0], stage=now[1][:64])
                written = now
            else:
                state = await training_state(session, training_id)
        if state == CANCELLED:
            cancel.set()


async def _finish(ctx: JobContext, training_id: int, state: str, **values: Any) -> None:
    progress = 1.0 if state in (READY, DROPPED) else values.pop("progress", None)
    async with ctx.sessionmaker() as session:
        fields: dict[str, Any] = {"state": state, **values}
        if progress is not None:
            fields["progress"] = progress
        if "stage" in fields:
            fields["stage"] = str(fields["stage"])[:64]
        if state == CANCELLED:  # (do_update_training leaves a cancelled row alone: set it here)
            row = await session.get(BotTraining, training_id, populate_existing=True)
            if row is not None:
                for key, value in fields.items():
                    setattr(row, key, value)
            await session.commit()
            return
        await do_update_training(session, training_id, **fields)


async def _report(ctx: JobContext, examples: list[tuple[str, str]], model_id: int, blob: bytes) -> None:
    """The model's report on its own examples, added to its metrics after it became active (a failure here
    leaves the model in service without a report)."""
    try:
        report = await asyncio.to_thread(nlu.intent_report, examples, blob, embedder=ctx.embedder)
    except Exception:
        log.exception("the intent report for model %s failed", model_id)
        return
    async with ctx.sessionmaker() as session:
        await do_set_model_report(session, model_id, report)
