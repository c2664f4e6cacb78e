"""Public widget endpoints: /api/v1/widget/{inbox_key}/… (authenticated by the signed contact token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, EmailStr, Field
from starlette.routing import Route

from kefu.attachments.api import UploadField, read_upload
from kefu.attachments.schemas import AttachmentRead
from kefu.attachments.service import check_store_upload
from kefu.attachments.service import read as read_attachment
from kefu.auth.api import client_ip
from kefu.auth.deps import CanManageContacts
from kefu.channels.base import InboundRequest
from kefu.channels.widget import service
from kefu.channels.widget.adapter import WIDGET
from kefu.conversations.inbound import receive_customer_message
from kefu.conversations.ingest import Received
from kefu.conversations.schemas import ContactMessageCreate, MessageRead, TypingIn
from kefu.conversations.service import list_messages
from kefu.core.constants import ActorType
from kefu.core.deps import SessionDep, StateDep
from kefu.core.events import Actor
from kefu.core.openapi import errors
from kefu.core.schemas import AfterId, StrictModel
from kefu.core.state import AppState
from kefu.realtime.typing import publish_typing

router = APIRouter(prefix="/api/v1/widget", tags=["widget"])
agents = APIRouter(prefix="/api/v1", tags=["contacts"])  # what agents do with widget visitors
ContactToken = Annotated[str | None, Header(alias="X-Contact-Token")]


class WidgetConfig(BaseModel):
    name: str
    greeting: str
    bot_enabled: bool


class VisitorIn(StrictModel):
    name: str = Field("", max_length=200)
    email: EmailStr | None = None
    locale: str | None = Field(None, pattern=r"^(zh_CN|zh_TW|en)$")


class VisitorOut(BaseModel):
    contact_id: int
    token: str


class SocketTicket(BaseModel):
    ticket: str = Field(description="open /ws/widget?inbox=KEY&ticket=… with it, once, within expires_in s")
    expires_in: int


class WidgetMessages(BaseModel):
    conversation_id: int | None
    status: str | None
    messages: list[MessageRead]


@router.get("/{inbox_key}/config", response_model=WidgetConfig)
async def config(inbox_key: str, session: SessionDep) -> WidgetConfig:
    inbox = await service.get_widget_inbox(session, inbox_key)
    return WidgetConfig(name=inbox.name, greeting=inbox.greeting, bot_enabled=inbox.bot_enabled)


@router.post("/{inbox_key}/contacts", response_model=VisitorOut, status_code=201)
async def start_visitor(
    inbox_key: str, data: VisitorIn, request: Request, session: SessionDep, state: StateDep
) -> VisitorOut:
    """A new visitor (contact) and its token. 429 with Retry-After past KEFU_WIDGET_VISITORS_PER_IP new
    visitors from one address in KEFU_WIDGET_VISITOR_WINDOW_S."""
    inbox = await service.get_widget_inbox(session, inbox_key)
    await service.check_visitor_rate(state, client_ip(request))
    contact, token = await service.do_start_visitor(
        session,
        inbox,
        state.settings.secret_key,
        name=data.name,
        email=str(data.email) if data.email else None,
        locale=data.locale,
    )
    return VisitorOut(contact_id=contact.id, token=token)


@router.get("/{inbox_key}/messages", response_model=WidgetMessages)
async def messages(
    inbox_key: str,
    session: SessionDep,
    state: StateDep,
    token: ContactToken = None,
    after_id: AfterId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> WidgetMessages:
    inbox = await service.get_widget_inbox(session, inbox_key)
    contact = await service.authenticate_visitor(session, inbox, state.settings, token)
    conv = await service.latest_conversation(session, inbox, contact)
    if conv is None:
        return WidgetMessages(conversation_id=None, status=None, messages=[])
    rows = await list_messages(session, conv, after_id=after_id, limit=limit, include_notes=False)
    return WidgetMessages(
        conversation_id=conv.id, status=conv.status, messages=[MessageRead.model_validate(m) for m in rows]
    )


@router.post("/{inbox_key}/socket_ticket", response_model=SocketTicket, status_code=201)
async def socket_ticket(inbox_key: str, state: StateDep, token: ContactToken = None) -> SocketTicket:
    """A one-time ticket for the widget socket, so the contact token (a long-lived secret) never goes into
    a URL (URLs end up in access logs). 401 for a missing, forged, expired or signed-out token. Opening a
    chat is the storm after a restart: this takes no database transaction (the inbox and the token's
    version come from the process's caches)."""
    inbox = await service.widget_inboxes(state).get(inbox_key)
    ticket = await service.issue_ticket(state, inbox, token)
    return SocketTicket(ticket=ticket, expires_in=service.TICKET_MAX_AGE_S)


# The hottest route: every customer message. FastAPI's per-request machinery (dependency solving, the
# per-parameter work, the endpoint wrappers) was a third of a server's CPU under load, so the operation is
# served by a plain Starlette route registered ahead of the API (`FAST_ROUTES`, see main.py); the FastAPI
# route below declares it for the OpenAPI document. Both only verify and parse (the widget's adapter), call
# the one inbound action and render its answer. Errors go through the same exception handlers either way.
_CONTACT_TOKEN_DOC = {
    "in": "header",
    "name": "X-Contact-Token",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "X-Contact-Token"},
}


def _render(got: Received) -> Response:
    return Response(
        got.message.model_dump_json(), status_code=201 if got.created else 200, media_type=JSONResponse.media_type
    )


@router.post(
    "/{inbox_key}/messages",
    response_model=MessageRead,
    status_code=201,
    openapi_extra={"parameters": [_CONTACT_TOKEN_DOC]},
    responses={
        200: {"model": MessageRead, "description": "a retry: the message stored the first time"},
        **errors(413, 503),
    },
)
async def post_message(inbox_key: str, data: ContactMessageCreate, request: Request) -> Response:
    """201 with the stored message; 200 with the message stored the first time when the same
    client_message_id is posted again."""
    state: AppState = request.app.state.kefu
    message = await WIDGET.verified(state, InboundRequest(inbox_key, request.headers), data)
    return _render(await receive_customer_message(state, message))


async def fast_post_message(request: Request) -> Response:
    """`post_message` without FastAPI's dependency machinery."""
    state: AppState = request.app.state.kefu
    inbound = InboundRequest(request.path_params["inbox_key"], request.headers, await request.body())
    (message,) = await WIDGET.parse_inbound(state, inbound)
    return _render(await receive_customer_message(state, message))


FAST_ROUTES = [Route(router.prefix + "/{inbox_key}/messages", fast_post_message, methods=["POST"])]


@router.post("/{inbox_key}/typing", status_code=204)
async def typing(
    inbox_key: str, data: TypingIn, session: SessionDep, state: StateDep, token: ContactToken = None
) -> None:
    inbox = await service.get_widget_inbox(session, inbox_key)
    contact = await service.authenticate_visitor(session, inbox, state.settings, token)
    conv = await service.latest_conversation(session, inbox, contact)
    if conv is not None:
        await publish_typing(
            state.bus, conv, sender={"type": "contact", "id": contact.id, "name": contact.name}, typing=data.typing
        )


@router.post("/{inbox_key}/attachments", response_model=AttachmentRead, status_code=201, responses=errors(413, 415))
async def upload_attachment(
    inbox_key: str, file: UploadField, session: SessionDep, state: StateDep, token: ContactToken = None
) -> AttachmentRead:
    """The customer uploads a file, then sends it with `{"id": …}` in a message's `attachments`.
    413 over the size limit, 415 for a type that is not allowed, 422 for an empty file."""
    inbox = await service.get_widget_inbox(session, inbox_key)
    contact = await service.authenticate_visitor(session, inbox, state.settings, token)
    limit = state.settings.max_attachment_bytes
    att = await check_store_upload(
        session,
        inbox.account_id,
        Actor(ActorType.CONTACT, contact.id),
        filename=file.filename,
        content_type=file.content_type,
        data=await read_upload(file, limit),
        limit=limit,
    )
    return read_attachment(att, state.settings.secret_key)


class SignedOut(BaseModel):
    contact_id: int
    token_version: int


@agents.post("/contacts/{contact_id}/sign_out", response_model=SignedOut)
async def sign_out_visitor(
    contact_id: int, session: SessionDep, state: StateDep, principal: CanManageContacts
) -> SignedOut:
    """Sign this visitor out: every widget token issued to them so far stops working (401) and their open
    chat sockets close; the next visit starts a new visitor. 404 for another account's contact."""
    version = await service.do_sign_out_visitor(session, state, principal.account_id, contact_id, principal.actor)
    return SignedOut(contact_id=contact_id, token_version=version)
