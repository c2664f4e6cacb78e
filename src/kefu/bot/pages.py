"""/admin/bot — the bot's admin pages: intents and examples, flows (JSON editor), thresholds and handoff
rules, model versions, and the try-it console. Thin: every write goes through kefu.bot.service.

Forms post back with the session's CSRF token and redirect after success; a rejected form is shown
again with the reason (for flows, each bad field with its path)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.permissions import Perm
from kefu.bot import service
from kefu.bot.api import try_out
from kefu.bot.policy import Context
from kefu.bot.runtime import get_runtime
from kefu.bot.schemas import BotSettingsIn, FlowCreate, FlowUpdate, IntentCreate, IntentUpdate
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import KefuError
from kefu.web.rendering import PagePrincipal, PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Text = Annotated[str, Form()]


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _errors(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc']) or '—'}: {e['msg']}" for e in exc.errors()]
    if isinstance(exc, json.JSONDecodeError):
        return [f"JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"]
    return [getattr(exc, "message", str(exc))]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _texts(zh: str, en: str) -> dict[str, str]:
    return {k: v.strip() for k, v in (("zh", zh), ("en", en)) if v.strip()}


@router.get("/admin/bot")
async def bot_home(principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    return _redirect("/admin/bot/intents")


# ---- intents ---------------------------------------------------------------------------------------


async def _intents(session: AsyncSession, account_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "section": "bot",
        "tab": "intents",
        "intents": await service.list_intents(session, account_id),
        "flows": await service.list_flows(session, account_id),
        "errors": [],
        "form": {},
        **extra,
    }


@router.get("/admin/bot/intents")
async def intents(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    return page(request, "bot/intents.html", await _intents(session, principal.account_id))


@dataclass
class IntentForm:
    """The intent form's fields (create and edit post the same form)."""

    name: Text = ""
    description: Text = ""
    examples: Text = ""
    handoff: Annotated[bool, Form()] = False
    flow_id: Text = ""
    reply_zh: Text = ""
    reply_en: Text = ""

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "examples": _lines(self.examples),
            "handoff": self.handoff,
            "flow_id": int(self.flow_id) if self.flow_id.strip().isdigit() else None,
            "reply": _texts(self.reply_zh, self.reply_en),
        }

    def echo(self) -> dict[str, Any]:
        """What to show again in a rejected form: the fields as typed."""
        return {**self.fields(), "examples": self.examples, "reply_zh": self.reply_zh, "reply_en": self.reply_en}


IntentFormDep = Annotated[IntentForm, Depends()]


@router.post("/admin/bot/intents")
async def create_intent(
    request: Request, form: IntentFormDep, session: SessionDep, state: StateDep, principal: PagePrincipal
) -> Response:
    principal.require(Perm.MANAGE_BOT)
    try:
        await service.check_create_intent(session, principal.account_id, IntentCreate(**form.fields()), state.jobs)
    except (ValidationError, KefuError) as exc:
        ctx = await _intents(session, principal.account_id, errors=_errors(exc), form=form.echo())
        return page(request, "bot/intents.html", ctx, status_code=422 if isinstance(exc, ValidationError) else 409)
    return _redirect("/admin/bot/intents")


@router.get("/admin/bot/intents/{intent_id}")
async def intent_detail(request: Request, intent_id: int, session: SessionDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    intent = await service.get_intent(session, principal.account_id, intent_id)
    ctx = await _intents(session, principal.account_id, intent=intent)
    return page(request, "bot/intent.html", ctx)


@router.post("/admin/bot/intents/{intent_id}")
async def update_intent(
    request: Request,
    intent_id: int,
    form: IntentFormDep,
    session: SessionDep,
    state: StateDep,
    principal: PagePrincipal,
) -> Response:
    principal.require(Perm.MANAGE_BOT)
    try:
        data = IntentUpdate(**form.fields())
        await service.check_update_intent(session, principal.account_id, intent_id, data, state.jobs)
    except (ValidationError, KefuError) as exc:
        intent = await service.get_intent(session, principal.account_id, intent_id)
        ctx = await _intents(session, principal.account_id, intent=intent, errors=_errors(exc))
        return page(request, "bot/intent.html", ctx, status_code=422)
    return _redirect(f"/admin/bot/intents/{intent_id}")


@router.post("/admin/bot/intents/{intent_id}/delete")
async def delete_intent(intent_id: int, session: SessionDep, state: StateDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    await service.do_delete_intent(session, principal.account_id, intent_id, state.jobs)
    return _redirect("/admin/bot/intents")


# ---- flows -----------------------------------------------------------------------------------------

FLOW_TEMPLATE = {
    "slots": [
        {"name": "order_id", "entity": "order_id", "prompt": {"zh": "请提供您的订单号", "en": "Your order number?"}}
    ],
    "action": {"method": "GET", "url": "https://erp.example.com/orders/{order_id}", "timeout_s": 3},
    "reply": {"zh": "订单 {order_id} 状态：{status}", "en": "Order {order_id}: {status}"},
}


async def _flows(session: AsyncSession, account_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "section": "bot",
        "tab": "flows",
        "flows": await service.list_flows(session, account_id),
        "errors": [],
        "form": {"definition": json.dumps(FLOW_TEMPLATE, ensure_ascii=False, indent=2)},
        **extra,
    }


def _flow_data(name: str, definition: str, enabled: bool) -> dict[str, Any]:
    return {"name": name, "definition": json.loads(definition), "enabled": enabled}


@router.get("/admin/bot/flows")
async def flows(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    return page(request, "bot/flows.html", await _flows(session, principal.account_id))


@router.post("/admin/bot/flows")
async def create_flow(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    name: Text = "",
    definition: Text = "",
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    principal.require(Perm.MANAGE_BOT)
    try:
        flow = await service.check_create_flow(
            session, principal.account_id, FlowCreate.model_validate(_flow_data(name, definition, enabled))
        )
    except (ValidationError, KefuError, json.JSONDecodeError) as exc:
        form = {"name": name, "definition": definition, "enabled": enabled}
        ctx = await _flows(session, principal.account_id, errors=_errors(exc), form=form)
        return page(request, "bot/flows.html", ctx, status_code=422)
    return _redirect(f"/admin/bot/flows/{flow.id}")


@router.get("/admin/bot/flows/{flow_id}")
async def flow_detail(request: Request, flow_id: int, session: SessionDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    flow = await service.get_flow(session, principal.account_id, flow_id)
    form = {
        "name": flow.name,
        "enabled": flow.enabled,
        "definition": json.dumps(flow.definition, ensure_ascii=False, indent=2),
    }
    return page(request, "bot/flow.html", await _flows(session, principal.account_id, flow=flow, form=form))


@router.post("/admin/bot/flows/{flow_id}")
async def update_flow(
    request: Request,
    flow_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    name: Text = "",
    definition: Text = "",
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    principal.require(Perm.MANAGE_BOT)
    try:
        data = FlowUpdate.model_validate(_flow_data(name, definition, enabled))
        await service.check_update_flow(session, principal.account_id, flow_id, data)
    except (ValidationError, KefuError, json.JSONDecodeError) as exc:
        flow = await service.get_flow(session, principal.account_id, flow_id)
        form = {"name": name, "definition": definition, "enabled": enabled}
        ctx = await _flows(session, principal.account_id, flow=flow, errors=_errors(exc), form=form)
        return page(request, "bot/flow.html", ctx, status_code=422)
    return _redirect(f"/admin/bot/flows/{flow_id}")


@router.post("/admin/bot/flows/{flow_id}/delete")
async def delete_flow(flow_id: int, session: SessionDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    await service.do_delete_flow(session, principal.account_id, flow_id)
    return _redirect("/admin/bot/flows")


# ---- settings and models ---------------------------------------------------------------------------


async def _settings(session: AsyncSession, account_id: int, **extra: Any) -> dict[str, Any]:
    current = await service.get_settings(session, account_id)
    return {
        "section": "bot",
        "tab": "settings",
        "settings": current,
        "models": await service.list_models(session, account_id, limit=10),
        "errors": [],
        "notice": None,
        **extra,
    }


@router.get("/admin/bot/settings")
async def settings_page(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    return page(request, "bot/settings.html", await _settings(session, principal.account_id))


@router.post("/admin/bot/settings")
async def save_settings(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    answer_min_score: Text = "",
    clarify_margin: Text = "",
    calibrated_answers: Annotated[bool, Form()] = False,
    oos_threshold: Text = "",
    keywords: Text = "",
    vip_tiers: Text = "",
    anger: Annotated[bool, Form()] = False,
    oos_twice: Annotated[bool, Form()] = False,
    low_confidence: Annotated[bool, Form()] = False,
    greeting_zh: Text = "",
    greeting_en: Text = "",
) -> Response:
    principal.require(Perm.MANAGE_BOT)
    raw = {
        "answer_min_score": answer_min_score.strip() or None,
        "clarify_margin": clarify_margin.strip() or None,
        "calibrated_answers": calibrated_answers,
        "oos_threshold": oos_threshold.strip() or None,
        "handoff": {
            "keywords": _lines(keywords.replace(",", "\n")),
            "vip_tiers": _lines(vip_tiers.replace(",", "\n")),
            "anger": anger,
            "oos_twice": oos_twice,
            "low_confidence": low_confidence,
        },
        "greeting": _texts(greeting_zh, greeting_en),
    }
    try:
        data = BotSettingsIn.model_validate({k: v for k, v in raw.items() if v is not None or k == "oos_threshold"})
        await service.do_put_settings(session, principal.account_id, data)
    except ValidationError as exc:
        ctx = await _settings(session, principal.account_id, errors=_errors(exc))
        return page(request, "bot/settings.html", ctx, status_code=422)
    return _redirect("/admin/bot/settings")


@router.post("/admin/bot/train")
async def train(request: Request, session: SessionDep, state: StateDep, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    await service.enqueue_training(state.jobs, principal.account_id)
    notice = t(request, "Training started. Reload in a few seconds to see the new version.")
    return page(request, "bot/settings.html", await _settings(session, principal.account_id, notice=notice))


# ---- try it ----------------------------------------------------------------------------------------


@router.get("/admin/bot/try")
async def try_page(request: Request, principal: PagePrincipal) -> Response:
    principal.require(Perm.MANAGE_BOT)
    ctx: dict[str, Any] = {
        "section": "bot",
        "tab": "try",
        "errors": [],
        "form": {"state": '{"active": true}'},
        "result": None,
    }
    return page(request, "bot/try.html", ctx)


@router.post("/admin/bot/try")
async def try_run(
    request: Request,
    session: SessionDep,
    state: StateDep,
    principal: PagePrincipal,
    text: Text = "",
    conversation_state: Text = "",
    contact_tier: Text = "normal",
) -> Response:
    principal.require(Perm.MANAGE_BOT)
    form = {"text": text, "state": conversation_state, "contact_tier": contact_tier}
    ctx: dict[str, Any] = {"section": "bot", "tab": "try", "errors": [], "form": form, "result": None}
    try:
        bot_state = json.loads(conversation_state) if conversation_state.strip() else {"active": True}
        if not isinstance(bot_state, dict):
            raise ValueError(t(request, "The conversation state must be a JSON object."))
        if not text.strip():
            raise ValueError(t(request, "Type a message to try."))
    except (json.JSONDecodeError, ValueError) as exc:
        ctx["errors"] = _errors(exc)
        return page(request, "bot/try.html", ctx, status_code=422)
    bot = await service.load_account_bot(session, principal.account_id)
    await session.commit()
    convo = Context(contact_tier=contact_tier.strip() or "normal", recent_messages=[text])
    thought = await get_runtime(state).think(principal.account_id, text, bot_state, convo, bot)
    result = try_out(thought)
    ctx["result"] = result
    ctx["result_json"] = json.dumps(result.model_dump(), ensure_ascii=False, indent=2)
    ctx["form"]["next_state"] = json.dumps(result.state, ensure_ascii=False)
    return page(request, "bot/try.html", ctx)
