"""/api/v1/bot: intents (+ examples), flows, settings, the bot's texts, training, model versions and the
try-it console.

Everyone here needs Perm.MANAGE_BOT (admins and supervisors)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from kefu.auth.deps import CanManageBot
from kefu.bot import service
from kefu.bot.policy import Context
from kefu.bot.runtime import Thought, get_runtime
from kefu.bot.schemas import (
    ActionTestIn,
    ActionTestOut,
    BotSettingsIn,
    BotSettingsRead,
    BotTextsRead,
    BotTextsUpdate,
    ExamplesIn,
    FlowCreate,
    FlowRead,
    FlowUpdate,
    IntentCreate,
    IntentRead,
    IntentReportRead,
    IntentUpdate,
    ModelRead,
    TrainingRead,
    TrainQueued,
    TryIn,
    TryOut,
)
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import NotFound
from kefu.core.http import OutboundHttp
from kefu.core.openapi import errors
from kefu.core.schemas import Id
from kefu.core.state import AppState

router = APIRouter(prefix="/api/v1/bot", tags=["bot"])


# ---- intents ---------------------------------------------------------------------------------------


@router.get("/intents", response_model=list[IntentRead])
async def list_intents(session: SessionDep, principal: CanManageBot) -> list[IntentRead]:
    return [IntentRead.model_validate(i) for i in await service.list_intents(session, principal.account_id)]


@router.post("/intents", response_model=IntentRead, status_code=201)
async def create_intent(
    data: IntentCreate, session: SessionDep, state: StateDep, principal: CanManageBot
) -> IntentRead:
    intent = await service.check_create_intent(session, principal.account_id, data, state.jobs)
    return IntentRead.model_validate(intent)


@router.get("/intents/{intent_id}", response_model=IntentRead)
async def get_intent(intent_id: Id, session: SessionDep, principal: CanManageBot) -> IntentRead:
    return IntentRead.model_validate(await service.get_intent(session, principal.account_id, intent_id))


@router.patch("/intents/{intent_id}", response_model=IntentRead)
async def update_intent(
    intent_id: Id, data: IntentUpdate, session: SessionDep, state: StateDep, principal: CanManageBot
) -> IntentRead:
    intent = await service.check_update_intent(session, principal.account_id, intent_id, data, state.jobs)
    return IntentRead.model_validate(intent)


@router.post("/intents/{intent_id}/examples", response_model=IntentRead)
async def add_examples(
    intent_id: Id, data: ExamplesIn, session: SessionDep, state: StateDep, principal: CanManageBot
) -> IntentRead:
    intent = await service.do_add_examples(session, principal.account_id, intent_id, data.examples, state.jobs)
    return IntentRead.model_validate(intent)


@router.delete("/intents/{intent_id}", status_code=204)
async def delete_intent(intent_id: Id, session: SessionDep, state: StateDep, principal: CanManageBot) -> Response:
    await service.do_delete_intent(session, principal.account_id, intent_id, state.jobs)
    return Response(status_code=204)


# ---- flows -----------------------------------------------------------------------------------------


@router.get("/flows", response_model=list[FlowRead])
async def list_flows(session: SessionDep, principal: CanManageBot) -> list[FlowRead]:
    return [FlowRead.model_validate(f) for f in await service.list_flows(session, principal.account_id)]


@router.post("/flows", response_model=FlowRead, status_code=201)
async def create_flow(data: FlowCreate, session: SessionDep, principal: CanManageBot) -> FlowRead:
    return FlowRead.model_validate(await service.check_create_flow(session, principal.account_id, data))


@router.post("/flows/test-action", response_model=ActionTestOut)
async def check_flow_action(
    data: ActionTestIn, session: SessionDep, state: StateDep, principal: CanManageBot
) -> ActionTestOut:
    """Call a flow's HTTP action with sample slot values, through the same client and address policy the
    bot uses, and render the reply from its answer. Nothing is stored; an action that fails is a 200
    with `ok: false` and the reason."""
    http = flow_action_http(state, principal.account_id)
    test = await service.check_test_action(session, http, principal.account_id, data.definition, data.slots)
    return action_test_out(test)


def flow_action_http(state: AppState, account_id: int) -> OutboundHttp:
    """The outbound client a flow's action goes through for this account: the bot runtime's own; with the
    account's outbound hosts as its policy, "Test it" is refused and allowed exactly where the bot would be."""
    return get_runtime(state).http


def action_test_out(test: service.ActionTest) -> ActionTestOut:
    r = test.result
    return ActionTestOut(
        ok=r.ok,
        status=r.status,
        error=r.error,
        message=r.message,
        url=test.url,
        json_text=test.json_text,
        truncated=test.truncated,
        reply=test.reply,
    )


@router.get("/flows/{flow_id}", response_model=FlowRead)
async def get_flow(flow_id: Id, session: SessionDep, principal: CanManageBot) -> FlowRead:
    return FlowRead.model_validate(await service.get_flow(session, principal.account_id, flow_id))


@router.patch("/flows/{flow_id}", response_model=FlowRead)
async def update_flow(flow_id: Id, data: FlowUpdate, session: SessionDep, principal: CanManageBot) -> FlowRead:
    return FlowRead.model_validate(await service.check_update_flow(session, principal.account_id, flow_id, data))


@router.delete("/flows/{flow_id}", status_code=204)
async def delete_flow(flow_id: Id, session: SessionDep, principal: CanManageBot) -> Response:
    await service.do_delete_flow(session, principal.account_id, flow_id)
    return Response(status_code=204)


# ---- settings, training, models --------------------------------------------------------------------


@router.get("/settings", response_model=BotSettingsRead)
async def get_settings(session: SessionDep, principal: CanManageBot) -> BotSettingsRead:
    return BotSettingsRead.model_validate((await service.get_settings(session, principal.account_id)).model_dump())


@router.put("/settings", response_model=BotSettingsRead)
async def put_settings(data: BotSettingsIn, session: SessionDep, principal: CanManageBot) -> BotSettingsRead:
    saved = await service.do_put_settings(session, principal.account_id, data)
    return BotSettingsRead.model_validate(saved.model_dump())


@router.get("/texts", response_model=BotTextsRead)
async def get_texts(session: SessionDep, principal: CanManageBot) -> BotTextsRead:
    """The bot's fixed replies in every locale: each one's purpose, default and the account's wording."""
    return BotTextsRead(items=await service.list_texts(session, principal.account_id))


@router.put("/texts", response_model=BotTextsRead)
async def put_texts(data: BotTextsUpdate, session: SessionDep, principal: CanManageBot) -> BotTextsRead:
    """Set the account's wording of the given texts (an empty text: back to the default); others stay."""
    return BotTextsRead(items=await service.do_put_texts(session, principal.account_id, data))


@router.post("/train", response_model=TrainQueued, status_code=202)
async def train(state: StateDep, principal: CanManageBot) -> TrainQueued:
    job_id = await service.enqueue_training(state.jobs, principal.account_id)
    return TrainQueued(job_id=job_id, queued=True)


@router.get("/models", response_model=list[ModelRead])
async def list_models(session: SessionDep, principal: CanManageBot) -> list[ModelRead]:
    return [ModelRead.model_validate(m) for m in await service.list_models(session, principal.account_id)]


@router.get("/trainings", response_model=list[TrainingRead])
async def list_trainings(session: SessionDep, principal: CanManageBot) -> list[TrainingRead]:
    """The latest trainings, newest first: the quick model after each edit and its fine-tuned copy."""
    return [TrainingRead.model_validate(t) for t in await service.list_trainings(session, principal.account_id)]


@router.get("/report", response_model=IntentReportRead, responses=errors(404))
async def intent_report(session: SessionDep, principal: CanManageBot) -> IntentReportRead:
    """The active model's report on its own examples; 404 while there is none (no model, or still computing)."""
    model = await service.active_model(session, principal.account_id)
    report = (model.metrics or {}).get("report") if model is not None else None
    if model is None or report is None:
        raise NotFound("intent model report")
    return IntentReportRead(model_id=model.id, version=model.version, **report)


# ---- try it ----------------------------------------------------------------------------------------


@router.post("/try", response_model=TryOut)
async def try_it(data: TryIn, session: SessionDep, state: StateDep, principal: CanManageBot) -> TryOut:
    """What the bot would make of `text` in a conversation whose bot_state is `conversation_state`.
    Nothing is stored and nobody is messaged (a flow's HTTP action is called, though)."""
    bot = await service.load_account_bot(session, principal.account_id)
    await session.commit()
    bot_state = data.conversation_state if data.conversation_state is not None else {"active": True}
    ctx = Context(contact_tier=data.contact_tier, recent_messages=[data.text])
    thought = await get_runtime(state).think(principal.account_id, data.text, bot_state, ctx, bot)
    return try_out(thought)


def try_out(thought: Thought) -> TryOut:
    s = thought.analysis.signals
    return TryOut(
        language=s.language,
        normalised=s.normalised,
        intent={
            "name": s.intent,
            "confidence": round(s.intent_confidence, 4),
            "out_of_scope": s.out_of_scope,
            "ranking": [{"name": n, "confidence": round(c, 4)} for n, c in s.intent_ranking],
        },
        entities=[
            {"type": e.type, "value": e.value, "text": e.text, "start": e.start, "end": e.end} for e in s.entities
        ],
        sentiment={
            "label": s.sentiment,
            "score": s.sentiment_score,
            "anger": s.anger,
            "urgency": s.urgency,
            "reasons": s.sentiment_reasons,
        },
        answers=[_hit(h) for h in thought.hits],
        decision=thought.decision.to_json(),
        state=thought.decision.state,
        flow=thought.flow,
        timings_ms=thought.timings_ms,
    )


def _hit(hit: Any) -> dict[str, Any]:
    return {
        "entry_kind": hit.entry_kind,
        "entry_id": hit.entry_id,
        "title": getattr(hit, "title", ""),
        "answer": getattr(hit, "answer", ""),
        "confidence": round(float(hit.dense_score), 4),
        "relative_score": round(float(getattr(hit, "relative_score", 0.0)), 4),
        "answer_floor": None if getattr(hit, "answer_floor", None) is None else round(float(hit.answer_floor), 4),
        "score": round(float(hit.score), 4),
        "bm25_score": round(float(hit.bm25_score), 4),
        "matched_text": getattr(hit, "matched_text", ""),
    }
