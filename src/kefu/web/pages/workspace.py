"""/app — the agent workspace: conversation list, conversation view, reply/note, assign, labels, status.

Full page on first load; HTMX partials afterwards. Live updates come from /ws/agent (static/js/workspace.js),
which asks these same partials for fresh HTML, so all user content is escaped by Jinja2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.service import list_teams
from kefu.attachments.files import attachment_limits
from kefu.auth.deps import CanHandle
from kefu.auth.principal import Principal
from kefu.auth.service import list_users
from kefu.channels.service import list_inboxes
from kefu.contacts.service import get_contact, list_identities
from kefu.conversations import service as convs
from kefu.conversations.outbound import reply_refusal
from kefu.conversations.schemas import AttachmentIn, ConversationRead, LabelIn, MessageCreate
from kefu.conversations.status import InvalidTransition, check_transition, next_statuses
from kefu.core import clock
from kefu.core.constants import ConversationStatus
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import BadRequest, Conflict, Unprocessable
from kefu.routing.schemas import TransferCreate
from kefu.routing.service import check_transfer, get_presence
from kefu.sla.clocks import warn_instants
from kefu.tickets.service import tickets_of_conversation
from kefu.web.rendering import PageRoute, is_htmx, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# The list's tabs and the conversations service's assignee filter for each.
VIEWS = {"mine": "me", "unassigned": "unassigned", "all": "all"}
STATUSES = ("open", "pending", "snoozed", "resolved", "all")
SNOOZE_PRESETS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1), "7d": timedelta(days=7)}
ViewQ = Annotated[str, Query(pattern="^(mine|unassigned|all)$")]
StatusQ = Annotated[str, Query(pattern="^(open|pending|snoozed|resolved|all)$")]
LIST_LIMIT = 50


async def _list(session: AsyncSession, principal: Principal, view: str, status: str) -> list[ConversationRead]:
    rows, _ = await convs.list_conversations(
        session,
        principal.account_id,
        status=status,
        assignee=VIEWS[view],
        team_id=None,
        label=None,
        inbox_id=None,
        contact_id=None,
        me_id=principal.user.id,
        cursor=None,
        limit=LIST_LIMIT,
    )
    return await convs.read_conversations(session, rows)


async def _sla_warn(session: AsyncSession, principal: Principal, conv_ids: list[int]) -> dict[int, datetime]:
    """The warning instant of each conversation's nearest SLA clock, for the countdown badges."""
    return await warn_instants(session, principal.account_id, [("conversation", i) for i in conv_ids])


async def _people(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    users = await list_users(session, principal.account_id)
    inboxes = await list_inboxes(session, principal.account_id)
    return {
        "users": {u.id: u for u in users},
        "agents": [u for u in users if u.is_active],
        "inbox_names": {i.id: i.name for i in inboxes},
        "inbox_kinds": {i.id: i.channel_type for i in inboxes},
        "teams": await list_teams(session, principal.account_id),
        "my_presence": await get_presence(session, principal.user.id),
    }


async def _conversation(session: AsyncSession, principal: Principal, conv_id: int) -> dict[str, Any]:
    conv = await convs.get_conversation(session, principal.account_id, conv_id)
    read = await convs.read_conversation(session, conv)
    messages = await convs.list_messages(session, conv, after_id=None, limit=500, include_notes=True)
    contact = await get_contact(session, principal.account_id, conv.contact_id)
    identities = await list_identities(session, contact)
    others, _ = await convs.list_conversations(
        session,
        principal.account_id,
        status="all",
        assignee=None,
        team_id=None,
        label=None,
        inbox_id=None,
        contact_id=contact.id,
        me_id=principal.user.id,
        cursor=None,
        limit=20,
    )
    return {
        "conv": read,
        "next_statuses": next_statuses(conv.status),
        "messages": messages,
        "contact": contact,
        "identities": identities,
        "other_conversations": [c for c in await convs.read_conversations(session, others) if c.id != conv.id],
        "sla_warn": await _sla_warn(session, principal, [conv.id]),
        "tickets": await tickets_of_conversation(session, principal.account_id, conv.id),
        "reply_refused": await reply_refusal(session, conv),  # e.g. WeChat's 48-hour window, shown on the reply box
        "reply_inboxes": await convs.reply_inbox_ids(session, conv),
        "reply_default": await convs.reply_inbox_id(session, conv),
    }


@router.get("/app")
async def workspace(
    request: Request,
    session: SessionDep,
    state: StateDep,
    principal: CanHandle,
    view: ViewQ = "all",
    status: StatusQ = "open",
    c: int | None = None,
) -> Response:
    context: dict[str, Any] = {"view": view, "status": status, "selected": c, "conv": None}
    context.update(attachment_limits(state.settings))
    context["conversations"] = await _list(session, principal, view, status)
    context.update(await _people(session, principal))
    if c is not None:
        context.update(await _conversation(session, principal, c))
    ids = [conv.id for conv in context["conversations"]] + ([c] if c is not None else [])
    context["sla_warn"] = await _sla_warn(session, principal, ids)
    return page(request, "app/workspace.html", context)


@router.get("/app/list")
async def conversation_list(
    request: Request,
    session: SessionDep,
    state: StateDep,
    principal: CanHandle,
    view: ViewQ = "all",
    status: StatusQ = "open",
    c: int | None = None,
) -> Response:
    conversations = await _list(session, principal, view, status)
    context = {
        "view": view,
        "status": status,
        "selected": c,
        "conversations": conversations,
        "sla_warn": await _sla_warn(session, principal, [conv.id for conv in conversations]),
    }
    context.update(await _people(session, principal))
    return page(request, "app/_list.html", context)


async def _pane(request: Request, session: AsyncSession, principal: Principal, conv_id: int, template: str) -> Response:
    context = await _people(session, principal)
    context.update(await _conversation(session, principal, conv_id))
    return page(request, template, context)


@router.get("/app/c/{conv_id}")
async def conversation(request: Request, conv_id: int, session: SessionDep, principal: CanHandle) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/app?c={conv_id}", status_code=303)
    return await _pane(request, session, principal, conv_id, "app/_conversation.html")


@router.get("/app/c/{conv_id}/head")
async def conversation_head(request: Request, conv_id: int, session: SessionDep, principal: CanHandle) -> Response:
    return await _pane(request, session, principal, conv_id, "app/_head.html")


@router.get("/app/c/{conv_id}/side")
async def conversation_side(request: Request, conv_id: int, session: SessionDep, principal: CanHandle) -> Response:
    return await _pane(request, session, principal, conv_id, "app/_side.html")


@router.get("/app/c/{conv_id}/messages")
async def conversation_messages(
    request: Request, conv_id: int, session: SessionDep, principal: CanHandle, after_id: int | None = None
) -> Response:
    conv = await convs.get_conversation(session, principal.account_id, conv_id)
    read = await convs.read_conversation(session, conv)
    messages = await convs.list_messages(session, conv, after_id=after_id, limit=500, include_notes=True)
    context = {
        "conv": read,
        "messages": messages,
        "contact": await get_contact(session, principal.account_id, conv.contact_id),
    }
    context.update(await _people(session, principal))
    return page(request, "app/_messages.html", context)


@router.post("/app/c/{conv_id}/messages")
async def post_message(
    request: Request,
    conv_id: int,
    session: SessionDep,
    state: StateDep,
    principal: CanHandle,
    content: Annotated[str, Form()] = "",
    kind: Annotated[str, Form(pattern="^(text|note)$")] = "text",
    client_message_id: Annotated[str | None, Form(max_length=100)] = None,
    attachment_id: Annotated[list[int] | None, Form(description="ids of uploads to send")] = None,
    inbox_id: Annotated[int | None, Form(description="the channel to reply on")] = None,
) -> Response:
    files = [AttachmentIn(id=i) for i in attachment_id or []]
    try:
        data = MessageCreate(
            content=content,
            kind=kind,
            client_message_id=client_message_id or None,
            attachments=files,
            inbox_id=inbox_id if kind == "text" else None,
        )
    except ValidationError:
        raise BadRequest(t(request, "Write a message first.")) from None
    conv, posted = await convs.check_post_agent_message(
        session,
        principal.account_id,
        conv_id,
        data,
        principal.actor,
        max_chars=state.settings.max_message_chars,
        secret=state.settings.secret_key,
        jobs=state.jobs,
    )
    context = {"messages": [posted.message], "conv": await convs.read_conversation(session, conv)}
    context["contact"] = await get_contact(session, principal.account_id, conv.contact_id)
    context.update(await _people(session, principal))
    return page(request, "app/_messages.html", context, status_code=201 if posted.created else 200)


@router.post("/app/c/{conv_id}/messages/{message_id}/retry")
async def retry_delivery(
    request: Request, conv_id: int, message_id: int, session: SessionDep, state: StateDep, principal: CanHandle
) -> Response:
    conv, msg = await convs.do_retry_delivery(session, principal.account_id, conv_id, message_id, state.jobs)
    context = {"messages": [msg], "conv": await convs.read_conversation(session, conv)}
    context["contact"] = await get_contact(session, principal.account_id, conv.contact_id)
    context.update(await _people(session, principal))
    return page(request, "app/_messages.html", context)


@router.post("/app/c/{conv_id}/assign")
async def assign(
    request: Request,
    conv_id: int,
    session: SessionDep,
    principal: CanHandle,
    assignee: Annotated[str, Form(pattern=r"^(me|none|\d+)$")] = "none",
) -> Response:
    target = principal.user.id if assignee == "me" else (None if assignee == "none" else int(assignee))
    await convs.do_assign(session, principal.account_id, conv_id, target, principal.actor)
    return await _pane(request, session, principal, conv_id, "app/_head.html")


@router.post("/app/c/{conv_id}/transfer")
async def transfer(
    request: Request,
    conv_id: int,
    session: SessionDep,
    principal: CanHandle,
    to: Annotated[str, Form(pattern=r"^(user|team):\d+$")],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Move the conversation to another agent or team with a reason (kefu.routing; counted as a transfer)."""
    kind, _, ident = to.partition(":")
    try:
        data = TransferCreate(**{"to_user_id" if kind == "user" else "to_team_id": int(ident)}, reason=reason)
    except ValidationError:
        raise BadRequest(t(request, "Say why you transfer the conversation.")) from None
    await check_transfer(session, principal.account_id, conv_id, data, principal.actor)
    return await _pane(request, session, principal, conv_id, "app/_head.html")


def snooze_until(request: Request, preset: str, custom: str, tz_offset_min: int) -> datetime:
    """The snooze end: a preset duration from now, or a browser-local datetime-local value.
    tz_offset_min is JavaScript's getTimezoneOffset() (UTC minus local, in minutes). Refusals are
    worded in the page's language."""
    if preset in SNOOZE_PRESETS:
        return clock.now() + SNOOZE_PRESETS[preset]
    try:
        local = datetime.fromisoformat(custom)
    except ValueError:
        raise BadRequest(t(request, "Choose when the snooze ends.")) from None
    try:
        until = (
            local.astimezone(UTC)
            if local.tzinfo is not None
            else local.replace(tzinfo=UTC) + timedelta(minutes=tz_offset_min)
        )
    except OverflowError:  # e.g. 9999-12-31T23:59 west of UTC
        until = None
    if until is None or until - clock.now() > convs.MAX_SNOOZE:
        raise Unprocessable(t(request, "A snooze ends at most %(days)s days from now.", days=convs.MAX_SNOOZE.days))
    return until


def _refused_transition(request: Request, exc: InvalidTransition) -> str:
    names = {
        ConversationStatus.OPEN: t(request, "Open"),
        ConversationStatus.PENDING: t(request, "Pending"),
        ConversationStatus.SNOOZED: t(request, "Snoozed"),
        ConversationStatus.RESOLVED: t(request, "Resolved"),
    }
    current, wanted = ConversationStatus(exc.details["from"]), ConversationStatus(exc.details["to"])
    return t(
        request,
        "This conversation is %(current)s and cannot be changed to %(wanted)s.",
        current=names[current],
        wanted=names[wanted],
    )


@router.post("/app/c/{conv_id}/status")
async def change_status(
    request: Request,
    conv_id: int,
    session: SessionDep,
    state: StateDep,
    principal: CanHandle,
    status: Annotated[ConversationStatus, Form()],
    preset: Annotated[str, Form(max_length=10)] = "",
    until: Annotated[str, Form(max_length=40)] = "",
    tz_offset: Annotated[int, Form(ge=-24 * 60, le=24 * 60)] = 0,
) -> Response:
    try:
        check_transition((await convs.get_conversation(session, principal.account_id, conv_id)).status, status)
        when = snooze_until(request, preset, until, tz_offset) if status == ConversationStatus.SNOOZED else None
        await convs.do_change_status(
            session, principal.account_id, conv_id, status, when, principal.actor, jobs=state.jobs
        )
    except InvalidTransition as exc:
        raise Conflict(_refused_transition(request, exc)) from None
    return await _pane(request, session, principal, conv_id, "app/_head.html")


@router.post("/app/c/{conv_id}/labels")
async def add_label(
    request: Request, conv_id: int, session: SessionDep, principal: CanHandle, label: Annotated[str, Form()] = ""
) -> Response:
    try:
        data = LabelIn(label=label)
    except ValidationError:
        raise BadRequest(t(request, "A label needs 1 to 64 characters.")) from None
    await convs.do_set_labels(session, principal.account_id, conv_id, [data.label], principal.actor, mode="add")
    return await _pane(request, session, principal, conv_id, "app/_head.html")


@router.post("/app/c/{conv_id}/labels/remove")
async def remove_label(
    request: Request, conv_id: int, session: SessionDep, principal: CanHandle, label: Annotated[str, Form()] = ""
) -> Response:
    await convs.do_set_labels(session, principal.account_id, conv_id, [label], principal.actor, mode="remove")
    return await _pane(request, session, principal, conv_id, "app/_head.html")
