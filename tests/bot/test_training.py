"""The intent model after an edit, as real jobs on a real database (SQLite and PostgreSQL): a quick model
first, then a fine-tuned copy that replaces it only when it is better on the calibration slice (otherwise
dropped), each training's state and progress recorded, and a newer edit cancelling an older job's result.

Fine-tuning is real (PyTorch, the bundled encoder); `finetune.MIN_EXAMPLES` is lowered so that a small
fixture set is fine-tuned in seconds instead of 200+ examples in minutes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import do_create_account
from kefu.bot import nlu, service, tasks
from kefu.bot.models import BotIntent, BotModel, BotTraining
from kefu.core.bus import InProcessBus
from kefu.core.events import commit
from kefu.core.jobs import JobContext
from kefu.nlp import finetune
from kefu.nlp.embed import get_embedder
from kefu.settings import Settings
from tests.support.factories import uniq

SM = async_sessionmaker[AsyncSession]

INTENTS = {
    "refund": ["我要退款", "怎么退款", "申请退款", "退款多久到账", "把钱退给我", "I want a refund", "refund my order"],
    "shipping": ["快递到哪了", "包裹什么时候到", "物流信息", "查一下快递", "发货了吗", "where is my parcel", "track"],
    "invoice": ["开发票", "我要发票", "发票怎么开", "电子发票在哪下载", "能开专票吗", "I need an invoice", "invoice"],
}  # fmt: skip
N_EXAMPLES = sum(len(v) for v in INTENTS.values())

pytestmark = pytest.mark.skipif(not finetune.available(), reason="fine-tuning needs PyTorch (make test installs it)")


@pytest.fixture
async def account_id(sessionmaker: SM) -> int:
    async with sessionmaker() as session:
        account = await do_create_account(session, uniq("Training "))
        for name, examples in INTENTS.items():
            session.add(BotIntent(account_id=account.id, name=name, examples=examples, reply={}, description=""))
        await commit(session)
    return account.id


@pytest.fixture
def ctx(sessionmaker: SM, monkeypatch: pytest.MonkeyPatch) -> JobContext:
    monkeypatch.setattr(finetune, "MIN_EXAMPLES", N_EXAMPLES)
    monkeypatch.setattr(tasks, "POLL_S", 0.05)
    return JobContext(sessionmaker, InProcessBus(), Settings(), embedder=get_embedder())  # runner: none, jobs by hand


async def _trainings(sm: SM, account_id: int) -> list[BotTraining]:
    async with sm() as session:
        rows = list((await session.execute(select(BotTraining).where(BotTraining.account_id == account_id))).scalars())
        await session.commit()
    return sorted(rows, key=lambda r: r.id)


async def _models(sm: SM, account_id: int) -> list[BotModel]:
    async with sm() as session:
        rows = list((await session.execute(select(BotModel).where(BotModel.account_id == account_id))).scalars())
        await session.commit()
    return sorted(rows, key=lambda r: r.version)


async def _add_example(sm: SM, account_id: int, name: str, text: str) -> None:
    async with sm() as session:
        intent = (
            await session.execute(select(BotIntent).where(BotIntent.account_id == account_id, BotIntent.name == name))
        ).scalar_one()
        intent.examples = [*intent.examples, text]
        await commit(session)


def _forcing(monkeypatch: pytest.MonkeyPatch, blend: float, ensemble: float) -> None:
    """The fine-tuning's slice comparison as given (the training itself runs for real)."""
    real = nlu.train_intent_model

    def train(examples: list[tuple[str, str]], **options: Any) -> tuple[bytes, dict[str, Any]]:
        blob, metrics = real(examples, **options)
        if options.get("fine_tune"):
            metrics["finetune"] = {**metrics["finetune"], "blend_accuracy": blend, "ensemble_accuracy": ensemble}
        return blob, metrics

    monkeypatch.setattr(tasks.nlu, "train_intent_model", train)


async def test_quick_model_then_a_fine_tuned_copy_that_is_dropped_when_not_better(
    ctx: JobContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = ctx.sessionmaker
    assert await tasks.train_intents(ctx, account_id) == "v1"
    quick, queued = await _trainings(sm, account_id)
    models = await _models(sm, account_id)
    assert [(m.version, m.active, m.metrics["fine_tuned"], m.metrics["oos_rule"]) for m in models] == [
        (1, True, False, "calibrated")
    ]
    assert (quick.kind, quick.state, quick.progress, quick.model_id) == ("quick", "ready", 1.0, models[0].id)
    assert (queued.kind, queued.state, queued.quick_id, queued.examples_hash) == (
        "finetune", "queued", quick.id, quick.examples_hash
    )  # fmt: skip
    report = models[0].metrics["report"]  # computed after the model went live
    assert report["method"] == "leave-one-out"
    assert [(h["label"], h["examples"], h["checked"]) for h in report["intents"]] == [
        (name, 7, 7) for name in sorted(INTENTS)
    ]

    _forcing(monkeypatch, blend=0.9, ensemble=0.9)  # a tie is not better
    assert await tasks.finetune_intents(ctx, account_id, queued.id) == "dropped"
    quick, dropped = await _trainings(sm, account_id)
    assert (quick.state, dropped.state, dropped.progress, dropped.model_id) == ("ready", "dropped", 1.0, quick.model_id)
    assert dropped.stage == "not better on the calibration slice"
    assert (dropped.detail["blend_accuracy"], dropped.detail["ensemble_accuracy"]) == (0.9, 0.9)
    assert [(m.version, m.active) for m in await _models(sm, account_id)] == [(1, True)]  # the quick model stays


async def test_a_better_fine_tuned_copy_replaces_the_quick_model(
    ctx: JobContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = ctx.sessionmaker
    assert await tasks.train_intents(ctx, account_id) == "v1"
    _, queued = await _trainings(sm, account_id)
    _forcing(monkeypatch, blend=0.95, ensemble=0.9)
    assert await tasks.finetune_intents(ctx, account_id, queued.id) == "v2"
    quick, tuned = await _trainings(sm, account_id)
    models = await _models(sm, account_id)
    assert [(m.version, m.active, m.metrics["fine_tuned"]) for m in models] == [(1, False, False), (2, True, True)]
    assert (quick.state, quick.stage) == ("replaced", "replaced by the fine-tuned model")
    assert (tuned.state, tuned.progress, tuned.model_id) == ("ready", 1.0, models[1].id)
    assert models[1].metrics["report"] == models[0].metrics["report"]  # same examples: the report carries over
    assert await tasks.train_intents(ctx, account_id) == "unchanged"


async def test_real_slice_comparison_decides(ctx: JobContext, account_id: int) -> None:
    """No forcing: whatever the fine-tuning measured, the state follows it."""
    sm = ctx.sessionmaker
    await tasks.train_intents(ctx, account_id)
    _, queued = await _trainings(sm, account_id)
    outcome = await tasks.finetune_intents(ctx, account_id, queued.id)
    _, tuned = await _trainings(sm, account_id)
    better = tuned.detail["blend_accuracy"] > tuned.detail["ensemble_accuracy"]
    assert (outcome, tuned.state) == (("v2", "ready") if better else ("dropped", "dropped"))
    assert tuned.detail["slice_size"] > 0
    assert tuned.detail["seconds"] > 0


async def test_a_newer_edit_cancels_a_running_fine_tuning(
    ctx: JobContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = ctx.sessionmaker
    await tasks.train_intents(ctx, account_id)
    _, queued = await _trainings(sm, account_id)
    loop = asyncio.get_running_loop()
    real = nlu.train_intent_model
    seen: list[str] = []

    def train(examples: list[tuple[str, str]], **options: Any) -> tuple[bytes, dict[str, Any]]:
        progress = options["progress"]

        def slowly(line: str) -> None:  # the admin edits when the first epoch ends; the watcher notices
            seen.append(line)
            if len(seen) == 1:
                asyncio.run_coroutine_threadsafe(_add_example(sm, account_id, "refund", "退钱"), loop).result(30)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    progress(line)  # raises once the job has seen the edit
                    time.sleep(0.05)
            progress(line)

        return real(examples, **{**options, "progress": slowly})

    monkeypatch.setattr(tasks.nlu, "train_intent_model", train)
    assert await tasks.finetune_intents(ctx, account_id, queued.id) == "cancelled"
    assert len(seen) == 1  # stopped at the first progress line after the edit
    _, cancelled = await _trainings(sm, account_id)
    assert (cancelled.state, cancelled.stage) == ("cancelled", "a newer edit")
    assert [(m.version, m.active) for m in await _models(sm, account_id)] == [(1, True)]


async def test_a_newer_edit_cancels_the_queued_fine_tuning_of_older_examples(ctx: JobContext, account_id: int) -> None:
    sm = ctx.sessionmaker
    assert await tasks.train_intents(ctx, account_id) == "v1"
    _, old_queued = await _trainings(sm, account_id)
    await _add_example(sm, account_id, "invoice", "发票抬头写错了")
    assert await tasks.train_intents(ctx, account_id) == "v2"  # the edit's quick model: only the new text embedded
    rows = await _trainings(sm, account_id)
    assert [(r.kind, r.state) for r in rows] == [
        ("quick", "ready"), ("finetune", "cancelled"), ("quick", "ready"), ("finetune", "queued")
    ]  # fmt: skip
    assert rows[1].id == old_queued.id
    assert await tasks.finetune_intents(ctx, account_id, old_queued.id) == "stale"  # its result would be stale
    assert [(m.version, m.active) for m in await _models(sm, account_id)] == [(1, False), (2, True)]
    async with sm() as session:
        listed = await service.list_trainings(session, account_id)
    assert [r.id for r in listed] == [r.id for r in reversed(rows)]
