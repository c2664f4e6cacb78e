"""Background job: train the account's intent model when its intents change."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

from sqlalchemy.exc import IntegrityError

from kefu.bot import nlu
from kefu.bot.service import (
    TRAIN_JOB,
    active_model_hash,
    do_deactivate_models,
    do_store_model,
    training_examples,
)
from kefu.core.events import bind_bus, rollback
from kefu.core.jobs import JobContext, job

log = logging.getLogger("kefu.bot")


def examples_hash(examples: list[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(sorted(examples), ensure_ascii=False).encode()).hexdigest()[:16]


@job(TRAIN_JOB)
async def train_intents(ctx: JobContext, account_id: int) -> str:
    """Train a new active version from the intents' examples, unless they did not change since the
    active one. Fewer than two intents with examples: no model (the bot answers from knowledge only)."""
    async with ctx.sessionmaker() as session:
        examples = await training_examples(session, account_id)
        current = await active_model_hash(session, account_id)
        await session.commit()
    digest = examples_hash(examples)
    if digest == current:
        return "unchanged"
    if len({label for _, label in examples}) < 2:
        async with ctx.sessionmaker() as session:
            await do_deactivate_models(session, account_id)
        return "too_few_intents"
    blob, metrics = await asyncio.to_thread(
        nlu.train_intent_model, examples, embedder=ctx.embedder, fine_tune=ctx.settings.finetune
    )
    metrics["examples_hash"] = digest
    async with ctx.sessionmaker() as session:
        bind_bus(session, ctx.bus)
        if examples_hash(await training_examples(session, account_id)) != digest:
            # The intents changed while this model trained: the job their change queued trains the current
            # examples, and a stale model finishing last must not become the active one.
            await session.commit()
            return "stale"
        try:
            model = await do_store_model(session, account_id, blob, metrics)
        except IntegrityError:  # a concurrent training stored the same version number first
            await rollback(session)
            log.info("intent training for account %s lost a race; the other version stays active", account_id)
            return "superseded"
    return f"v{model.version}"
