"""The bot's configuration: intents (+ examples), flows, settings, trained model versions.

Writes end with `commit`; a change to intents enqueues retraining (`bot.train_intents`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.service import get_outbound_policy
from kefu.auth.access import get_scoped, restrict
from kefu.bot import flows, texts
from kefu.bot.models import BotFlow, BotIntent, BotModel, BotSettings, BotText, BotTraining
from kefu.bot.policy import BotConfig, HandoffRules, IntentRule
from kefu.bot.schemas import (
    BotSettingsIn,
    BotTextRead,
    BotTextsUpdate,
    FlowCreate,
    FlowUpdate,
    IntentCreate,
    IntentUpdate,
)
from kefu.bot.texts import Overrides
from kefu.core import clock
from kefu.core.constants import EventType
from kefu.core.errors import Conflict, Unprocessable
from kefu.core.events import Actor, commit, emit, rollback
from kefu.core.http import OutboundHttp
from kefu.core.jobs import JobRunner
from kefu.knowledge.models import FaqEntry
from kefu.knowledge.schemas import EntryStatus

TRAIN_JOB = "bot.train_intents"
FINETUNE_JOB = "bot.finetune_intents"


# ---- intents ---------------------------------------------------------------------------------------


async def list_intents(session: AsyncSession, account_id: int) -> list[BotIntent]:
    q = restrict(select(BotIntent), BotIntent, account_id).order_by(BotIntent.name)
    return list((await session.execute(q)).scalars())


async def get_intent(session: AsyncSession, account_id: int, intent_id: int) -> BotIntent:
    return await get_scoped(session, BotIntent, intent_id, account_id, "intent")


async def _check_flow(session: AsyncSession, account_id: int, flow_id: int | None) -> None:
    if flow_id is not None:
        await get_scoped(session, BotFlow, flow_id, account_id, "flow")


async def _commit_unique(session: AsyncSession, what: str, name: str) -> None:
    try:
        await commit(session)
    except IntegrityError as exc:
        await rollback(session)
        raise Conflict(f"{what} named {name!r} already exists") from exc


async def _check_faqs(session: AsyncSession, account_id: int, faq_ids: list[int] | None) -> None:
    """Every linked FAQ entry must be the account's (422 naming the others)."""
    if not faq_ids:
        return
    q = select(FaqEntry.id).where(FaqEntry.account_id == account_id, FaqEntry.id.in_(faq_ids))
    found = set((await session.execute(q)).scalars())
    unknown = [i for i in dict.fromkeys(faq_ids) if i not in found]
    if unknown:
        raise Unprocessable(
            f"no FAQ entry with id {', '.join(map(str, unknown))} in this account",
            details=[{"field": "faq_ids", "message": f"unknown FAQ entry {i}"} for i in unknown],
        )


async def check_create_intent(
    session: AsyncSession, account_id: int, data: IntentCreate, jobs: JobRunner | None = None
) -> BotIntent:
    await _check_flow(session, account_id, data.flow_id)
    await _check_faqs(session, account_id, data.faq_ids)
    intent = BotIntent(account_id=account_id, **data.model_dump())
    session.add(intent)
    await _commit_unique(session, "an intent", data.name)
    await enqueue_training(jobs, account_id)
    return intent


async def check_update_intent(
    session: AsyncSession, account_id: int, intent_id: int, data: IntentUpdate, jobs: JobRunner | None = None
) -> BotIntent:
    intent = await get_intent(session, account_id, intent_id)
    changes = data.model_dump(exclude_unset=True)
    if "flow_id" in changes:
        await _check_flow(session, account_id, changes["flow_id"])
    if "faq_ids" in changes:
        await _check_faqs(session, account_id, changes["faq_ids"])
    for field, value in changes.items():
        if value is None and field != "flow_id":
            continue
        setattr(intent, field, value)
    intent.updated_at = clock.now()
    await _commit_unique(session, "an intent", intent.name)
    if {"name", "examples", "description", "faq_ids"} & changes.keys():
        await enqueue_training(jobs, account_id)
    return intent


async def do_add_examples(
    session: AsyncSession, account_id: int, intent_id: int, examples: list[str], jobs: JobRunner | None = None
) -> BotIntent:
    intent = await get_intent(session, account_id, intent_id)
    intent.examples = list(dict.fromkeys([*intent.examples, *(e.strip() for e in examples)]))
    intent.updated_at = clock.now()
    await commit(session)
    await enqueue_training(jobs, account_id)
    return intent


async def do_delete_intent(
    session: AsyncSession, account_id: int, intent_id: int, jobs: JobRunner | None = None
) -> None:
    intent = await get_intent(session, account_id, intent_id)
    await session.delete(intent)
    await commit(session)
    await enqueue_training(jobs, account_id)


async def enqueue_training(jobs: JobRunner | None, account_id: int) -> str:
    if jobs is None:
        return ""
    return await jobs.enqueue(TRAIN_JOB, account_id=account_id)


# ---- flows -----------------------------------------------------------------------------------------


async def list_flows(session: AsyncSession, account_id: int) -> list[BotFlow]:
    q = restrict(select(BotFlow), BotFlow, account_id).order_by(BotFlow.name)
    return list((await session.execute(q)).scalars())


async def get_flow(session: AsyncSession, account_id: int, flow_id: int) -> BotFlow:
    return await get_scoped(session, BotFlow, flow_id, account_id, "flow")


async def check_create_flow(session: AsyncSession, account_id: int, data: FlowCreate) -> BotFlow:
    flow = BotFlow(
        account_id=account_id,
        name=data.name,
        definition=data.definition.model_dump(mode="json", exclude_none=True),
        enabled=data.enabled,
    )
    session.add(flow)
    await _commit_unique(session, "a flow", data.name)
    return flow


async def check_update_flow(session: AsyncSession, account_id: int, flow_id: int, data: FlowUpdate) -> BotFlow:
    flow = await get_flow(session, account_id, flow_id)
    if data.name is not None:
        flow.name = data.name
    if data.definition is not None:
        flow.definition = data.definition.model_dump(mode="json", exclude_none=True)
    if data.enabled is not None:
        flow.enabled = data.enabled
    flow.updated_at = clock.now()
    await _commit_unique(session, "a flow", flow.name)
    return flow


async def do_delete_flow(session: AsyncSession, account_id: int, flow_id: int) -> None:
    flow = await get_flow(session, account_id, flow_id)
    await session.execute(
        update(BotIntent).where(BotIntent.account_id == account_id, BotIntent.flow_id == flow.id).values(flow_id=None)
    )
    await session.delete(flow)
    await commit(session)


# ---- trying a flow's HTTP action -------------------------------------------------------------------

ACTION_JSON_MAX_CHARS = 4000


@dataclass(frozen=True)
class ActionTest:
    """What a flow's HTTP action answered for sample slot values, and the reply the customer would get."""

    result: flows.ActionResult
    url: str  # the URL called, slot values filled in
    json_text: str | None  # the JSON answered, indented, cut at ACTION_JSON_MAX_CHARS
    truncated: bool
    reply: dict[str, str] | None  # {"zh", "en"}; None: the flow fails here and a human takes over


async def check_test_action(
    session: AsyncSession, http: OutboundHttp, account_id: int, definition: flows.FlowDefinition, slots: dict[str, str]
) -> ActionTest:
    """Call the action as the bot would once every slot is filled (`flows.run_action`, through `http` under
    the account's outbound hosts), and render the reply from its answer. Nothing is stored."""
    if definition.action is None:
        raise Unprocessable(
            "the flow has no HTTP action to test",
            details=[{"field": "definition.action", "message": "no HTTP action"}],
        )
    names = [s.name for s in definition.slots]
    unknown = [{"field": f"slots.{n}", "message": "not a slot of this flow"} for n in slots if n not in names]
    missing = [{"field": f"slots.{n}", "message": "a value is needed"} for n in names if not slots.get(n, "").strip()]
    if unknown or missing:
        bad = ", ".join(d["field"].removeprefix("slots.") for d in unknown + missing)
        raise Unprocessable(f"give a value for each slot of the flow, and no others: {bad}", details=unknown + missing)
    values = {n: slots[n].strip() for n in names}
    policy = await get_outbound_policy(session, account_id)
    await session.commit()  # the read ends before the call: no transaction is held across it
    result = await flows.run_action(http, definition.action, values, policy)
    text = json.dumps(result.data, ensure_ascii=False, indent=2) if result.ok else None
    reply = {lang: flows.final_reply(definition, result, values, lang) for lang in ("zh", "en")}
    return ActionTest(
        result=result,
        url=flows.action_url(definition.action, values),
        json_text=text[:ACTION_JSON_MAX_CHARS] if text is not None else None,
        truncated=text is not None and len(text) > ACTION_JSON_MAX_CHARS,
        reply=None if reply["zh"] is None else {k: v or "" for k, v in reply.items()},
    )


# ---- settings --------------------------------------------------------------------------------------


async def _settings_row(session: AsyncSession, account_id: int) -> BotSettings | None:
    q = select(BotSettings).where(BotSettings.account_id == account_id)
    return (await session.execute(q)).scalar_one_or_none()


async def get_settings(session: AsyncSession, account_id: int) -> BotSettingsIn:
    row = await _settings_row(session, account_id)
    if row is None:
        return BotSettingsIn()
    return BotSettingsIn.model_validate(
        {
            "answer_min_score": row.answer_min_score,
            "clarify_margin": row.clarify_margin,
            "calibrated_answers": row.calibrated_answers,
            "oos_threshold": row.oos_threshold,
            "handoff": row.handoff_rules,
            "greeting": row.greeting,
        }
    )


async def do_put_settings(session: AsyncSession, account_id: int, data: BotSettingsIn) -> BotSettingsIn:
    row = await _settings_row(session, account_id)
    if row is None:
        row = BotSettings(account_id=account_id)
        session.add(row)
    row.answer_min_score = data.answer_min_score
    row.clarify_margin = data.clarify_margin
    row.calibrated_answers = data.calibrated_answers
    row.oos_threshold = data.oos_threshold
    row.handoff_rules = data.handoff.model_dump()
    row.greeting = dict(data.greeting)
    row.updated_at = clock.now()
    await commit(session)
    return data


def config_of(data: BotSettingsIn) -> BotConfig:
    h = data.handoff
    return BotConfig(
        answer_min_score=data.answer_min_score,
        clarify_margin=data.clarify_margin,
        calibrated_answers=data.calibrated_answers,
        oos_threshold=data.oos_threshold,
        handoff=HandoffRules(list(h.keywords), h.anger, h.oos_twice, h.low_confidence, list(h.vip_tiers)),
        greeting=dict(data.greeting),
    )


# ---- the bot's texts (kefu.bot.texts) ---------------------------------------------------------------


async def get_text_overrides(session: AsyncSession, account_id: int) -> Overrides:
    q = select(BotText.key, BotText.locale, BotText.text).where(BotText.account_id == account_id)
    return {(k, loc): t for k, loc, t in (await session.execute(q)).all()}


async def list_texts(session: AsyncSession, account_id: int) -> list[BotTextRead]:
    """Every text of the catalogue in every locale: its purpose, default and the account's override."""
    overrides = await get_text_overrides(session, account_id)
    return [
        BotTextRead(
            key=key,
            locale=locale,
            purpose=purpose,
            default=texts.default(key, locale),
            text=overrides.get((str(key), locale), ""),
        )
        for key, (purpose, _) in texts.CATALOGUE.items()
        for locale in texts.LOCALES
    ]


async def do_put_texts(session: AsyncSession, account_id: int, data: BotTextsUpdate) -> list[BotTextRead]:
    """Store the given overrides; an empty (or blank) text removes the override. Texts not given stay."""
    q = select(BotText).where(BotText.account_id == account_id)
    rows = {(r.key, r.locale): r for r in (await session.execute(q)).scalars()}
    for item in data.texts:
        row = rows.get((str(item.key), item.locale))
        if not item.text.strip():
            if row is not None:
                await session.delete(row)
                rows.pop((row.key, row.locale))
            continue
        if row is None:
            row = BotText(account_id=account_id, key=str(item.key), locale=item.locale)
            session.add(row)
            rows[(row.key, row.locale)] = row
        row.text = item.text
        row.updated_at = clock.now()
    await commit(session)
    return await list_texts(session, account_id)


# ---- what the runtime reads per message ------------------------------------------------------------


@dataclass(frozen=True)
class AccountBot:
    config: BotConfig
    intents: dict[str, IntentRule]
    model_id: int | None  # the active trained intent model
    texts: Overrides = dataclass_field(default_factory=dict)  # the account's wording of the bot's fixed replies


def bot_version(account_id: Any) -> tuple[Any, ...]:
    """Scalar subqueries (correlated on `account_id`, e.g. `Conversation.account_id`) whose values change
    whenever the account's bot settings, intents, texts or active model change: the bot runtime reads them with
    the conversation and reloads its cached `AccountBot` only when they differ."""
    intents = BotIntent.account_id == account_id
    settings = BotSettings.account_id == account_id
    own_texts = BotText.account_id == account_id
    return (
        select(BotSettings.updated_at).where(settings).scalar_subquery().label("v_settings"),
        select(func.count(BotIntent.id)).where(intents).scalar_subquery().label("v_intents"),
        select(func.max(BotIntent.updated_at)).where(intents).scalar_subquery().label("v_intents_at"),
        select(BotModel.id)
        .where(BotModel.account_id == account_id, BotModel.active.is_(True))
        .limit(1)
        .scalar_subquery()
        .label("v_model"),
        select(func.count(BotText.id)).where(own_texts).scalar_subquery().label("v_texts"),
        select(func.max(BotText.updated_at)).where(own_texts).scalar_subquery().label("v_texts_at"),
    )


async def load_account_bot(session: AsyncSession, account_id: int) -> AccountBot:
    settings = await get_settings(session, account_id)
    q = select(BotIntent.name, BotIntent.handoff, BotIntent.flow_id, BotIntent.reply).where(
        BotIntent.account_id == account_id
    )
    intents = {n: IntentRule(n, h, f, dict(r or {})) for n, h, f, r in (await session.execute(q)).all()}
    model_id = await active_model_id(session, account_id)
    return AccountBot(config_of(settings), intents, model_id, await get_text_overrides(session, account_id))


# ---- trained models --------------------------------------------------------------------------------


async def list_models(session: AsyncSession, account_id: int, limit: int = 50) -> list[BotModel]:
    q = select(BotModel).where(BotModel.account_id == account_id).order_by(BotModel.version.desc()).limit(limit)
    return list((await session.execute(q)).scalars())


async def active_model_id(session: AsyncSession, account_id: int) -> int | None:
    q = select(BotModel.id).where(BotModel.account_id == account_id, BotModel.active.is_(True)).limit(1)
    return (await session.execute(q)).scalar_one_or_none()


async def get_model_blob(session: AsyncSession, model_id: int) -> bytes | None:
    return (await session.execute(select(BotModel.blob).where(BotModel.id == model_id))).scalar_one_or_none()


async def active_model_hash(session: AsyncSession, account_id: int) -> str | None:
    q = select(BotModel.metrics).where(BotModel.account_id == account_id, BotModel.active.is_(True)).limit(1)
    metrics = (await session.execute(q)).scalar_one_or_none()
    return None if metrics is None else metrics.get("examples_hash")


async def training_examples(session: AsyncSession, account_id: int) -> list[tuple[str, str]]:
    q = select(BotIntent.name, BotIntent.examples).where(BotIntent.account_id == account_id).order_by(BotIntent.name)
    return [(text, name) for name, examples in (await session.execute(q)).all() for text in examples]


async def do_store_model(session: AsyncSession, account_id: int, blob: bytes, metrics: dict[str, Any]) -> BotModel:
    """A new version, made the active one (the others are deactivated in the same transaction)."""
    current = select(func.coalesce(func.max(BotModel.version), 0)).where(BotModel.account_id == account_id)
    version = int((await session.execute(current)).scalar_one()) + 1
    await session.execute(
        update(BotModel).where(BotModel.account_id == account_id, BotModel.active.is_(True)).values(active=False)
    )
    model = BotModel(account_id=account_id, version=version, blob=blob, metrics=metrics, active=True)
    session.add(model)
    await session.flush()
    public = {k: v for k, v in metrics.items() if k not in ("examples_hash", "report")}  # (the report: GET /report)
    emit(session, account_id, EventType.BOT_MODEL_TRAINED, {"id": model.id, "version": version, **public},
         actor=Actor.system())  # fmt: skip
    await commit(session)
    return model


async def do_deactivate_models(session: AsyncSession, account_id: int) -> None:
    await session.execute(
        update(BotModel).where(BotModel.account_id == account_id, BotModel.active.is_(True)).values(active=False)
    )
    await commit(session)


async def intent_extras(session: AsyncSession, account_id: int) -> dict[str, list[str]]:
    """intent name → texts saying what it is: "name: description" and the published questions and variants of
    its linked FAQ entries (one more example each for an intent with few; kefu.nlp.intent)."""
    rows = (
        await session.execute(
            select(BotIntent.name, BotIntent.description, BotIntent.faq_ids).where(BotIntent.account_id == account_id)
        )
    ).all()
    linked = {i for _, _, ids in rows for i in ids or []}
    faqs: dict[int, list[str]] = {}
    if linked:
        q = select(FaqEntry.id, FaqEntry.question, FaqEntry.variants).where(
            FaqEntry.account_id == account_id, FaqEntry.id.in_(linked), FaqEntry.status == EntryStatus.PUBLISHED
        )
        faqs = {i: [question, *(variants or [])] for i, question, variants in (await session.execute(q)).all()}
    out: dict[str, list[str]] = {}
    for name, description, ids in rows:
        texts = [f"{name.replace('_', ' ')}: {description.strip()}"] if description and description.strip() else []
        texts += [t for i in ids or [] for t in faqs.get(i, [])]
        if texts:
            out[name] = texts
    return out


async def last_intent_edit(session: AsyncSession, account_id: int) -> datetime | None:
    q = select(func.max(BotIntent.updated_at)).where(BotIntent.account_id == account_id)
    return (await session.execute(q)).scalar_one_or_none()


async def get_model(session: AsyncSession, account_id: int, model_id: int) -> BotModel | None:
    q = select(BotModel).where(BotModel.account_id == account_id, BotModel.id == model_id)
    return (await session.execute(q)).scalar_one_or_none()


async def active_model(session: AsyncSession, account_id: int) -> BotModel | None:
    q = select(BotModel).where(BotModel.account_id == account_id, BotModel.active.is_(True)).limit(1)
    return (await session.execute(q)).scalar_one_or_none()


async def do_set_model_report(session: AsyncSession, model_id: int, report: dict[str, Any]) -> None:
    model = await session.get(BotModel, model_id)
    if model is not None:
        model.metrics = {**model.metrics, "report": report}
        await commit(session)


# ---- trainings: what the admin sees of them (kefu.bot.tasks runs them) --------------------------------

QUICK, FINETUNE = "quick", "finetune"
QUEUED, TRAINING, READY, REPLACED, DROPPED, CANCELLED, FAILED = (
    "queued", "training", "ready", "replaced", "dropped", "cancelled", "failed"
)  # fmt: skip
OPEN_STATES = (QUEUED, TRAINING)


async def list_trainings(session: AsyncSession, account_id: int, limit: int = 20) -> list[BotTraining]:
    q = select(BotTraining).where(BotTraining.account_id == account_id).order_by(BotTraining.id.desc()).limit(limit)
    return list((await session.execute(q)).scalars())


async def do_start_training(
    session: AsyncSession,
    account_id: int,
    kind: str,
    digest: str,
    *,
    state: str = TRAINING,
    quick_id: int | None = None,
) -> BotTraining:
    """A new training row. A quick training marks the account's open trainings of other examples cancelled:
    a newer edit cancels an older job's result (the job sees it and stores nothing)."""
    if kind == QUICK:
        await session.execute(
            update(BotTraining)
            .where(
                BotTraining.account_id == account_id,
                BotTraining.state.in_(OPEN_STATES),
                BotTraining.examples_hash != digest,
            )
            .values(state=CANCELLED, stage="a newer edit", updated_at=clock.now())
        )
    row = BotTraining(
        account_id=account_id, kind=kind, state=state, progress=0.0, stage="", examples_hash=digest,
        quick_id=quick_id, detail={},
    )  # fmt: skip
    session.add(row)
    await commit(session)
    return row


async def do_update_training(session: AsyncSession, training_id: int, **values: Any) -> str | None:
    """Sets the given columns unless the training was cancelled meanwhile; returns its state (None: gone)."""
    row = await session.get(BotTraining, training_id, populate_existing=True)
    if row is None:
        return None
    if row.state != CANCELLED:
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = clock.now()
    state = row.state
    await commit(session)
    return state


async def training_state(session: AsyncSession, training_id: int) -> str | None:
    q = select(BotTraining.state).where(BotTraining.id == training_id)
    state = (await session.execute(q)).scalar_one_or_none()
    await session.commit()
    return state
