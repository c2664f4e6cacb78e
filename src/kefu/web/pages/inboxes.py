"""/admin/inboxes — the inboxes of every channel (admins).

The list; a new website-chat inbox (the short form on the list page) or a new inbox of any registered
channel (`/admin/inboxes/new/{kind}`: its settings form is drawn from the channel's config schema,
web/channel_forms.py); an inbox's page — the widget's embed code, or for the other channels the callback
URL to give the provider and the settings form (`/admin/inboxes/{id}/settings`; secrets show as a mask
and keep their value unless replaced)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.deps import CanManageInboxes
from kefu.auth.principal import Principal
from kefu.channels import service as channels
from kefu.channels.models import Inbox
from kefu.channels.schemas import InboxCreate, InboxUpdate
from kefu.core.constants import ChannelType
from kefu.core.deps import SessionDep, SettingsDep
from kefu.core.errors import KefuError, NotFound
from kefu.web.channel_forms import CHANNEL_NAMES, config_fields, creatable_kinds, parse_config_form
from kefu.web.pages.admin import _form_failed, _redirect
from kefu.web.rendering import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _common() -> dict[str, Any]:
    return {"section": "inboxes", "channel_names": CHANNEL_NAMES, "error": None, "form": {}}


async def _inboxes(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    return {
        **_common(),
        "inboxes": await channels.list_inboxes(session, principal.account_id),
        "kinds": [k for k in creatable_kinds() if k != ChannelType.WEB_WIDGET],
    }


@router.get("/admin/inboxes")
async def inboxes(request: Request, session: SessionDep, principal: CanManageInboxes) -> Response:
    return page(request, "admin/inboxes.html", await _inboxes(session, principal))


@router.post("/admin/inboxes")
async def create_inbox(
    request: Request,
    session: SessionDep,
    principal: CanManageInboxes,
    name: Annotated[str, Form()] = "",
    greeting: Annotated[str, Form()] = "",
    bot_enabled: Annotated[bool, Form()] = False,
) -> Response:
    try:
        data = InboxCreate(name=name, greeting=greeting, bot_enabled=bot_enabled)
        inbox = await channels.check_create_inbox(session, principal.account_id, data, principal.actor)
    except (ValidationError, KefuError) as exc:
        form = {"name": name, "greeting": greeting, "bot_enabled": bot_enabled}
        return await _form_failed(request, "admin/inboxes.html", lambda: _inboxes(session, principal), exc, form)
    return _redirect(f"/admin/inboxes/{inbox.id}")


def _kind(kind: str) -> str:
    if kind == ChannelType.WEB_WIDGET or kind not in creatable_kinds():
        raise NotFound("channel", kind)
    return kind


def _new_context(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The new-inbox form; after a refused submission, filled with what was typed (secrets included:
    nothing is stored yet, so a mask could not keep them)."""
    return {**_common(), "kind": kind, "fields": config_fields(kind, values, mask=False)}


@router.get("/admin/inboxes/new/{kind}")
async def new_inbox(request: Request, kind: str, principal: CanManageInboxes) -> Response:
    return page(request, "admin/inbox_new.html", _new_context(_kind(kind), {}))


@router.post("/admin/inboxes/new/{kind}")
async def create_channel_inbox(
    request: Request, kind: str, session: SessionDep, principal: CanManageInboxes
) -> Response:
    kind = _kind(kind)
    form = dict((await request.form()).items())
    config = parse_config_form(kind, form)
    try:
        data = InboxCreate(
            name=str(form.get("name", "")),
            channel_type=ChannelType(kind),
            bot_enabled=form.get("bot_enabled") is not None,
            config=config,
        )
        inbox = await channels.check_create_inbox(session, principal.account_id, data, principal.actor)
    except (ValidationError, KefuError) as exc:

        async def context() -> dict[str, Any]:
            return _new_context(kind, config)

        return await _form_failed(request, "admin/inbox_new.html", context, exc, form)
    return _redirect(f"/admin/inboxes/{inbox.id}")


def _detail(inbox: Inbox, base_url: str) -> dict[str, Any]:
    context: dict[str, Any] = {**_common(), "inbox": inbox}
    if inbox.channel_type == ChannelType.WEB_WIDGET:
        snippet, src = channels.embed_snippet(base_url, inbox)
        context.update(snippet=snippet, script_url=src)
    else:
        context.update(
            callback_url=channels.callback_url(base_url, inbox),
            fields=config_fields(inbox.channel_type, inbox.config or {}),
        )
    return context


@router.get("/admin/inboxes/{inbox_id}")
async def inbox_detail(
    request: Request, inbox_id: int, session: SessionDep, settings: SettingsDep, principal: CanManageInboxes
) -> Response:
    inbox = await channels.get_inbox(session, principal.account_id, inbox_id)
    return page(request, "admin/inbox.html", _detail(inbox, settings.base_url))


@router.post("/admin/inboxes/{inbox_id}/settings")
async def save_settings(
    request: Request, inbox_id: int, session: SessionDep, settings: SettingsDep, principal: CanManageInboxes
) -> Response:
    inbox = await channels.get_inbox(session, principal.account_id, inbox_id)
    form = dict((await request.form()).items())
    try:
        data = InboxUpdate(
            name=str(form.get("name") or inbox.name),
            bot_enabled=form.get("bot_enabled") is not None,
            config=parse_config_form(inbox.channel_type, form),
        )
        await channels.check_update_inbox(session, principal.account_id, inbox_id, data, principal.actor)
    except (ValidationError, KefuError) as exc:  # refused before anything changed: the stored inbox

        async def context() -> dict[str, Any]:
            return _detail(inbox, settings.base_url)

        return await _form_failed(request, "admin/inbox.html", context, exc, form)
    return _redirect(f"/admin/inboxes/{inbox_id}")
