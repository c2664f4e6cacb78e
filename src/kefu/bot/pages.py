"""/admin/bot — the bot's admin pages: intents and examples, flows (a builder form with a JSON view, and
"Test it" for the HTTP action), thresholds and handoff rules, model versions, and the try-it console.
Thin: every write goes through kefu.bot.service.

Forms post back with the session's CSRF token and redirect after success; a rejected form is shown
again as typed with the reason (for flows, each error next to its field, in the UI language)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.deps import CanManageBot
from kefu.auth.principal import Principal
from kefu.bot import service
from kefu.bot.api import flow_action_http, try_out
from kefu.bot.flow_form import ENTITIES, JSON_KEY, METHODS, N_, SLOT_FIELDS, FieldError, FlowForm, field_errors
from kefu.bot.flows import validate_definition
from kefu.bot.policy import Context
from kefu.bot.runtime import get_runtime
from kefu.bot.schemas import BotSettingsIn, BotTextsUpdate, FlowCreate, FlowUpdate, IntentCreate, IntentUpdate
from kefu.bot.texts import LOCALES, MAX_CHARS, TextKey
from kefu.core import clock
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import Conflict, KefuError, Unprocessable
from kefu.web.i18n import HTML_LANG
from kefu.web.rendering import PageRoute, is_htmx, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)
POLL_AFTER_EDIT = timedelta(minutes=2)
Text = Annotated[str, Form()]


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _errors(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc']) or '—'}: {e['msg']}" for e in exc.errors()]
    if isinstance(exc, json.JSONDecodeError):
        return [f"JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"]
    return [getattr(exc, "message", str(exc))]


def _status(exc: Exception) -> int:
    return 422 if isinstance(exc, ValidationError) else getattr(exc, "status_code", 400)


async def _after_rollback(session: AsyncSession, principal: Principal, exc: Exception) -> None:
    """A write refused by the database (a taken name: Conflict) was rolled back, which expired every row
    the session holds — the logged-in user the page shows included: load it again."""
    if isinstance(exc, Conflict):
        await session.refresh(principal.user)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _texts(zh: str, en: str) -> dict[str, str]:
    return {k: v.strip() for k, v in (("zh", zh), ("en", en)) if v.strip()}


@router.get("/admin/bot")
async def bot_home(principal: CanManageBot) -> Response:
    return _redirect("/admin/bot/intents")


# ---- intents ---------------------------------------------------------------------------------------


async def _model_status(session: AsyncSession, account_id: int) -> dict[str, Any]:
    """The trainings (state, progress) and the active model's report on its own examples."""
    trainings = await service.list_trainings(session, account_id, limit=6)
    model = await service.active_model(session, account_id)
    report = (model.metrics or {}).get("report") if model is not None else None
    edited = await service.last_intent_edit(session, account_id)
    # polled while a training runs, while the active model's report is computed, and for a while after an
    # edit newer than the active model (its training may not have started yet)
    pending = (
        edited is not None and clock.now() - edited < POLL_AFTER_EDIT and (model is None or edited > model.trained_at)
    )
    return {
        "trainings": trainings,
        "training_open": any(t.state in service.OPEN_STATES for t in trainings)
        or pending
        or bool(model and report is None),
        "active_model": model,
        "report": report,
    }


async def _intents(session: AsyncSession, account_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "section": "bot",
        "tab": "intents",
        "intents": await service.list_intents(session, account_id),
        "flows": await service.list_flows(session, account_id),
        "errors": [],
        "form": {},
        **await _model_status(session, account_id),
        **extra,
    }


@router.get("/admin/bot/intents")
async def intents(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    return page(request, "bot/intents.html", await _intents(session, principal.account_id))


@router.get("/admin/bot/intents/status")
async def model_status(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    """The training states and the model report (the intents page polls it while a training runs)."""
    return page(request, "bot/_model_status.html", await _model_status(session, principal.account_id))


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
    faq_ids: Text = ""  # FAQ entry ids, separated by spaces or commas

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "examples": _lines(self.examples),
            "handoff": self.handoff,
            "flow_id": int(self.flow_id) if self.flow_id.strip().isdigit() else None,
            "reply": _texts(self.reply_zh, self.reply_en),
            # (a token that is not a number stays text: validation names it)
            "faq_ids": [int(t) if t.isdigit() else t for t in re.split(r"[\s,，]+", self.faq_ids) if t],
        }

    def echo(self) -> dict[str, Any]:
        """What to show again in a rejected form: the fields as typed."""
        typed = {
            "examples": self.examples,
            "reply_zh": self.reply_zh,
            "reply_en": self.reply_en,
            "faq_ids": self.faq_ids,
        }
        return {**self.fields(), **typed}


IntentFormDep = Annotated[IntentForm, Depends()]


@router.post("/admin/bot/intents")
async def create_intent(
    request: Request, form: IntentFormDep, session: SessionDep, state: StateDep, principal: CanManageBot
) -> Response:
    try:
        await service.check_create_intent(session, principal.account_id, IntentCreate(**form.fields()), state.jobs)
    except (ValidationError, KefuError) as exc:
        await _after_rollback(session, principal, exc)
        ctx = await _intents(session, principal.account_id, errors=_errors(exc), form=form.echo())
        return page(request, "bot/intents.html", ctx, status_code=_status(exc))
    return _redirect("/admin/bot/intents")


@router.get("/admin/bot/intents/{intent_id}")
async def intent_detail(request: Request, intent_id: int, session: SessionDep, principal: CanManageBot) -> Response:
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
    principal: CanManageBot,
) -> Response:
    try:
        data = IntentUpdate(**form.fields())
        await service.check_update_intent(session, principal.account_id, intent_id, data, state.jobs)
    except (ValidationError, KefuError) as exc:
        await _after_rollback(session, principal, exc)
        intent = await service.get_intent(session, principal.account_id, intent_id)
        ctx = await _intents(session, principal.account_id, intent=intent, errors=_errors(exc))
        return page(request, "bot/intent.html", ctx, status_code=_status(exc))
    return _redirect(f"/admin/bot/intents/{intent_id}")


@router.post("/admin/bot/intents/{intent_id}/delete")
async def delete_intent(intent_id: int, session: SessionDep, state: StateDep, principal: CanManageBot) -> Response:
    await service.do_delete_intent(session, principal.account_id, intent_id, state.jobs)
    return _redirect("/admin/bot/intents")


# ---- flows -----------------------------------------------------------------------------------------
# The builder (kefu.bot.flow_form) posts its fields; the server builds the definition, FlowCreate /
# FlowUpdate validate it exactly as the JSON API does, and errors go back next to their fields.
# `/editor` switches between the form and the JSON view; `/test-action` calls the HTTP action. Both are
# declared before `/{flow_id}`, which would otherwise take their paths.


async def _flows(session: AsyncSession, account_id: int, **extra: Any) -> dict[str, Any]:
    return {"section": "bot", "tab": "flows", "flows": await service.list_flows(session, account_id), **extra}


def _say(request: Request) -> Callable[..., str]:
    return lambda message, **variables: t(request, message, **variables)


def _editor(request: Request, form: FlowForm, errors: Sequence[FieldError] = ()) -> dict[str, Any]:
    """The builder's template context: the form as typed, and each error next to its field (in the UI
    language); errors without a field of their own (and every error of the JSON view but the name's)
    are listed above the form."""
    say = _say(request)
    inline: dict[str, list[str]] = {}
    general: list[str] = []
    shown = _inline_keys(form)
    for err in errors:
        key = "action.method" if err.key == "action" else err.key
        if key in shown:
            inline.setdefault(key, []).append(err.text(say))
        else:
            general.append(f"{key}: {err.text(say)}" if key and key != JSON_KEY else err.text(say))
    return {
        "f": form,
        "field_errors": inline,
        "editor_errors": general,
        "has_errors": bool(errors),
        "entities": ENTITIES,
        "methods": METHODS,
    }


def _inline_keys(form: FlowForm) -> set[str]:
    if form.view == "json":
        return {"name"}
    rows = {f"slots.{i}.{k}" for i in range(len(form.slots)) for k in (*SLOT_FIELDS, "prompt", "retry_prompt")}
    top = {"name", "description", "slots", "reply", "not_found_reply", "give_up_reply", "max_retries"}
    return top | rows | {f"action.{k}" for k in ("method", "url", "timeout_s", "headers", "body")}


def _flow_page(
    request: Request, ctx: dict[str, Any], form: FlowForm, errors: Sequence[FieldError] = (), status_code: int = 200
) -> Response:
    return page(request, "bot/flow.html", {**ctx, **_editor(request, form, errors)}, status_code=status_code)


async def _validated(
    request: Request, model: type[FlowCreate] | type[FlowUpdate]
) -> tuple[FlowForm, Any, list[FieldError]]:
    """The posted form, the FlowCreate/FlowUpdate it makes (None when it does not), and the errors."""
    form = FlowForm.parse(await request.form())
    definition, errors = form.build()
    try:
        data = model.model_validate({"name": form.name, "definition": definition, "enabled": form.enabled})
    except ValidationError as exc:
        return form, None, [*errors, *field_errors(exc, definition)]
    return form, (None if errors else data), errors


def _taken(name: str) -> FieldError:
    return FieldError("name", N_("A flow named %(name)s already exists."), {"name": name})


@router.get("/admin/bot/flows")
async def flows(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    return page(request, "bot/flows.html", await _flows(session, principal.account_id))


@router.get("/admin/bot/flows/new")
async def new_flow(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    return _flow_page(request, await _flows(session, principal.account_id, flow=None), FlowForm())


@router.post("/admin/bot/flows")
async def create_flow(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    form, data, errors = await _validated(request, FlowCreate)
    if data is not None:
        try:
            flow = await service.check_create_flow(session, principal.account_id, data)
        except Conflict as exc:
            await _after_rollback(session, principal, exc)
            errors = [_taken(data.name)]
        else:
            return _redirect(f"/admin/bot/flows/{flow.id}")
    ctx = await _flows(session, principal.account_id, flow=None)
    return _flow_page(request, ctx, form, errors, 409 if data is not None else 422)


@router.post("/admin/bot/flows/editor")
async def flow_editor(request: Request, principal: CanManageBot, view: str = "form") -> Response:
    """The builder's fields in the other view (an HTMX fragment); with the reasons when it cannot switch."""
    form, errors = FlowForm.parse(await request.form()).switched(view)
    return page(request, "bot/_flow_editor.html", _editor(request, form, errors))


@router.post("/admin/bot/flows/test-action")
async def flow_test_action(request: Request, session: SessionDep, state: StateDep, principal: CanManageBot) -> Response:
    """The builder's "Test it": the flow as typed (saved or not), its action called with the sample
    values through the bot's own client (an HTMX fragment)."""
    form = FlowForm.parse(await request.form())
    definition, errors = form.build()
    ctx: dict[str, Any] = {"test": None, "problems": []}
    try:
        valid = validate_definition(definition)
    except ValidationError as exc:
        errors = [*errors, *field_errors(exc, definition, prefix=False)]
    if errors:
        ctx["problems"] = [_labelled(request, form, e) for e in errors]
        return page(request, "bot/_action_test.html", ctx)
    try:
        http = flow_action_http(state, principal.account_id)
        ctx["test"] = await service.check_test_action(session, http, principal.account_id, valid, form.samples())
    except Unprocessable as exc:
        ctx["problems"] = [_test_problem(request, d) for d in exc.details or [{"field": "", "message": exc.message}]]
    return page(request, "bot/_action_test.html", ctx)


FIELD_NAMES = {
    "name": N_("Name"),
    "description": N_("Description"),
    "slots": N_("Slots"),
    "action": N_("HTTP action"),
    "action.method": N_("Method"),
    "action.url": N_("URL"),
    "action.timeout_s": N_("Timeout (seconds)"),
    "action.headers": N_("Headers"),
    "action.body": N_("POST body"),
    "reply": N_("Reply"),
    "not_found_reply": N_("Not-found reply"),
    "give_up_reply": N_("Give-up reply"),
    "max_retries": N_("Failed tries before the flow gives up"),
}


def _labelled(request: Request, form: FlowForm, err: FieldError) -> str:
    """An error of the builder's form, outside the form ("Test it"): with the field's name."""
    text = err.text(_say(request))
    if err.key.startswith("slots.") and err.key.split(".")[1].isdigit():
        i = int(err.key.split(".")[1])
        name = form.slots[i].name.strip() if i < len(form.slots) else ""
        return t(request, "Slot %(name)s: %(error)s", name=name or str(i + 1), error=text)
    if err.key in FIELD_NAMES:
        return t(request, "%(field)s: %(error)s", field=t(request, FIELD_NAMES[err.key]), error=text)
    return f"{err.key}: {text}" if err.key and err.key != JSON_KEY else text


def _test_problem(request: Request, detail: dict[str, Any]) -> str:
    where = str(detail.get("field", ""))
    if where == "definition.action":
        return t(request, "This flow has no HTTP action: choose GET or POST first.")
    if where.startswith("slots.") and detail.get("message") == "a value is needed":
        return t(request, "Type a sample value for the slot %(name)s.", name=where.removeprefix("slots."))
    return str(detail.get("message", ""))


@router.get("/admin/bot/flows/{flow_id}")
async def flow_detail(request: Request, flow_id: int, session: SessionDep, principal: CanManageBot) -> Response:
    flow = await service.get_flow(session, principal.account_id, flow_id)
    form = FlowForm.of_definition(flow.name, flow.enabled, flow.definition)
    return _flow_page(request, await _flows(session, principal.account_id, flow=flow), form)


@router.post("/admin/bot/flows/{flow_id}")
async def update_flow(request: Request, flow_id: int, session: SessionDep, principal: CanManageBot) -> Response:
    form, data, errors = await _validated(request, FlowUpdate)
    if data is not None:
        try:
            await service.check_update_flow(session, principal.account_id, flow_id, data)
        except Conflict as exc:
            await _after_rollback(session, principal, exc)
            errors = [_taken(form.name.strip())]
        else:
            return _redirect(f"/admin/bot/flows/{flow_id}")
    flow = await service.get_flow(session, principal.account_id, flow_id)
    return _flow_page(request, await _flows(session, principal.account_id, flow=flow), form, errors,
                      409 if data is not None else 422)  # fmt: skip


@router.post("/admin/bot/flows/{flow_id}/delete")
async def delete_flow(flow_id: int, session: SessionDep, principal: CanManageBot) -> Response:
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
async def settings_page(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    return page(request, "bot/settings.html", await _settings(session, principal.account_id))


@router.post("/admin/bot/settings")
async def save_settings(
    request: Request,
    session: SessionDep,
    principal: CanManageBot,
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


# ---- the bot's texts -------------------------------------------------------------------------------


async def _texts_page(
    request: Request, session: AsyncSession, account_id: int, typed: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """One row per text of the catalogue, a field per locale: the account's wording (or what was typed),
    the default as placeholder."""
    rows: dict[str, dict[str, Any]] = {}
    for item in await service.list_texts(session, account_id):
        row = rows.setdefault(str(item.key), {"key": str(item.key), "purpose": item.purpose, "locales": []})
        name = f"{item.key}.{item.locale}"
        value = typed[name] if typed is not None and name in typed else item.text
        lang = HTML_LANG[item.locale]  # the field's language: its default is not the page's
        row["locales"].append(
            {"locale": item.locale, "lang": lang, "name": name, "default": item.default, "text": value}
        )
    base = {"section": "bot", "tab": "texts", "texts": list(rows.values()), "max_chars": MAX_CHARS, "errors": []}
    return {**base, **extra}


def _text_problem(items: list[dict[str, str]], error: Any) -> str:
    """`key (locale): what is wrong` for a validation error of item `loc[1]`."""
    item = items[int(error["loc"][1])]
    return f"{item['key']} ({item['locale']}): {str(error['msg']).removeprefix('Value error, ')}"


@router.get("/admin/bot/texts")
async def texts_page(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    return page(request, "bot/texts.html", await _texts_page(request, session, principal.account_id))


@router.post("/admin/bot/texts")
async def save_texts(request: Request, session: SessionDep, principal: CanManageBot) -> Response:
    form = await request.form()
    typed = {f"{key}.{locale}": str(form.get(f"{key}.{locale}") or "") for key in TextKey for locale in LOCALES}
    items = [{"key": name.split(".")[0], "locale": name.split(".")[1], "text": text} for name, text in typed.items()]
    try:
        data = BotTextsUpdate.model_validate({"texts": items})
    except ValidationError as exc:
        problems = [_text_problem(items, e) for e in exc.errors()]
        ctx = await _texts_page(request, session, principal.account_id, typed, errors=problems)
        return page(request, "bot/texts.html", ctx, status_code=422)
    await service.do_put_texts(session, principal.account_id, data)
    return _redirect("/admin/bot/texts")


@router.post("/admin/bot/train")
async def train(request: Request, session: SessionDep, state: StateDep, principal: CanManageBot) -> Response:
    await service.enqueue_training(state.jobs, principal.account_id)
    notice = t(request, "Training started. Reload in a few seconds to see the new version.")
    return page(request, "bot/settings.html", await _settings(session, principal.account_id, notice=notice))


# ---- try it ----------------------------------------------------------------------------------------
# The console keeps the conversation's bot state in a hidden field of its form: each answer carries the
# next state (an HTMX out-of-band swap), and the next message sends it back. Nothing is kept on the server,
# so any node can answer the next message, and a reload or "Reset" starts a fresh conversation.

FRESH_STATE: dict[str, Any] = {"active": True}


def _state(bot_state: dict[str, Any]) -> dict[str, str]:
    """The hidden field's value and the debugging panel's text."""
    return {
        "state_json": json.dumps(bot_state, ensure_ascii=False),
        "state_pretty": json.dumps(bot_state, ensure_ascii=False, indent=2),
    }


def _try_ctx(**extra: Any) -> dict[str, Any]:
    base = {"section": "bot", "tab": "try", "errors": [], "turns": [], "contact_tier": "normal", **_state(FRESH_STATE)}
    return {**base, **extra}


@router.get("/admin/bot/try")
async def try_page(request: Request, principal: CanManageBot) -> Response:
    return page(request, "bot/try.html", _try_ctx())


@router.post("/admin/bot/try")
async def try_run(
    request: Request,
    session: SessionDep,
    state: StateDep,
    principal: CanManageBot,
    text: Text = "",
    conversation_state: Text = "",
    contact_tier: Text = "normal",
) -> Response:
    tier = contact_tier.strip()[:20] or "normal"
    try:
        bot_state = json.loads(conversation_state) if conversation_state.strip() else {"active": True}
        if not isinstance(bot_state, dict):
            raise ValueError(t(request, "The conversation state must be a JSON object."))
        if not text.strip():
            raise ValueError(t(request, "Type a message to try."))
    except (json.JSONDecodeError, ValueError) as exc:
        if is_htmx(request):
            return page(request, "_error_fragment.html", {"message": _errors(exc)[0]}, status_code=422)
        ctx = _try_ctx(errors=_errors(exc), contact_tier=tier)
        return page(request, "bot/try.html", ctx, status_code=422)
    bot = await service.load_account_bot(session, principal.account_id)
    await session.commit()
    convo = Context(contact_tier=tier, recent_messages=[text])
    result = try_out(await get_runtime(state).think(principal.account_id, text, bot_state, convo, bot))
    turn = {"text": text, "result": result, "json": json.dumps(result.model_dump(), ensure_ascii=False, indent=2)}
    if is_htmx(request):
        return page(request, "bot/_try_turn.html", {"turn": turn, "oob": True, **_state(result.state)})
    return page(request, "bot/try.html", _try_ctx(turns=[turn], contact_tier=tier, **_state(result.state)))
