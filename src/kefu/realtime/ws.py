"""WebSocket endpoints: /ws/agent (workspace) and /ws/widget (customer).

Authentication — never a secret in the URL (URLs end up in access logs):
- /ws/agent: the session cookie (browser), or an API token in `Authorization: Bearer …`, or — for
  clients that cannot set headers — as the subprotocol `kefu.bearer.<token>` offered next to `kefu`
  (the server answers `kefu`). A `?token=` is refused.
- /ws/widget?inbox=KEY&ticket=T: a one-time ticket (60 s) from `POST /api/v1/widget/KEY/socket_ticket`,
  fetched with the contact token in the X-Contact-Token header. A `?token=` is refused. A signed-out
  visitor's socket is closed (4401).

Protocol (JSON text frames):
- server → client: {"type": "hello", "last_event_id": N} once, then events
  {"id", "type", "conversation_id", "contact_id", "actor", "payload", "created_at"}; typing has id null.
- client → server: {"type": "ping"} → {"type": "pong"}; {"type": "typing", "conversation_id", "typing"}.
- Resume: connect with ?last_event_id=N; stored events after N are replayed before live ones, each once.
  The server subscribes to the bus before reading the log, so nothing falls in between; clients also
  drop ids they have already seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import func, select

from kefu.attachments.urls import fresh_urls
from kefu.auth.deps import SESSION_COOKIE
from kefu.auth.principal import Principal
from kefu.auth.service import get_principal_by_api_token, get_principal_by_session
from kefu.channels.widget.service import check_ticket, get_widget_inbox, latest_conversation
from kefu.contacts.models import Contact
from kefu.conversations.event_messages import event_messages
from kefu.conversations.service import get_conversation
from kefu.core.bus import Subscription
from kefu.core.constants import EventType, MessageKind
from kefu.core.errors import KefuError
from kefu.core.eventlog import Event
from kefu.core.events import account_topic, contact_topic
from kefu.core.state import AppState
from kefu.realtime.typing import publish_typing

router = APIRouter()
REPLAY_LIMIT = 1000
SUBPROTOCOL = "kefu"
BEARER_PROTOCOL = "kefu.bearer."
Filter = Callable[[dict[str, Any]], bool]


def _state(ws: WebSocket) -> AppState:
    return ws.app.state.kefu


def _bearer(ws: WebSocket) -> str | None:
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for proto in ws.scope.get("subprotocols", ()):
        if proto.startswith(BEARER_PROTOCOL):
            return str(proto[len(BEARER_PROTOCOL) :])
    return None


def _subprotocol(ws: WebSocket) -> str | None:
    return SUBPROTOCOL if SUBPROTOCOL in ws.scope.get("subprotocols", ()) else None


async def _agent_principal(ws: WebSocket, state: AppState) -> Principal | None:
    if "token" in ws.query_params:
        return None  # a secret in the URL: refused (send it as a header or subprotocol)
    async with state.sessionmaker() as session:
        token = _bearer(ws)
        try:
            if token:
                return await get_principal_by_api_token(session, token)
            cookie = ws.cookies.get(SESSION_COOKIE)
            idle = state.settings.session_idle_s
            return await get_principal_by_session(session, cookie, idle) if cookie else None
        except KefuError:
            return None


def _last_event_id(ws: WebSocket) -> int | None:
    raw = ws.query_params.get("last_event_id")
    return int(raw) if raw and raw.isdigit() else None


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    state = _state(ws)
    principal = await _agent_principal(ws, state)
    if principal is None:
        await ws.close(code=4401, reason="unauthorized")
        return
    await ws.accept(subprotocol=_subprotocol(ws))
    sub = await state.bus.subscribe(account_topic(principal.account_id))
    where = Event.account_id == principal.account_id
    user = {"type": "user", "id": principal.user.id, "name": principal.user.name}

    async def on_typing(msg: dict[str, Any]) -> None:
        async with state.sessionmaker() as session:
            conv = await get_conversation(session, principal.account_id, int(msg["conversation_id"]))
        await publish_typing(state.bus, conv, sender=user, typing=bool(msg.get("typing", True)))

    me = {"type": "user", "id": principal.user.id}

    def visible(msg: dict[str, Any]) -> bool:  # everything in the account, except my own typing echo
        return not (msg.get("type") == "typing" and msg.get("actor") == me)

    await state.hooks.agent_socket(state, principal.account_id, principal.user.id, opened=True)
    try:
        await _serve(ws, state, sub, where, visible, on_typing, ends=_never)
    finally:
        await state.hooks.agent_socket(state, principal.account_id, principal.user.id, opened=False)


def _never(msg: dict[str, Any]) -> bool:
    return False


def widget_visible(message: dict[str, Any]) -> bool:
    """What a customer may see: messages except private notes, status changes, others' typing."""
    kind = message.get("type")
    if kind == EventType.MESSAGE_CREATED:
        return message["payload"].get("kind") != MessageKind.NOTE
    if kind == "typing":
        return message["actor"]["type"] != "contact"
    return kind == EventType.CONVERSATION_STATUS_CHANGED


@router.websocket("/ws/widget")
async def widget_socket(ws: WebSocket) -> None:
    state = _state(ws)
    try:
        if "token" in ws.query_params:
            raise KefuError("a contact token in the URL is refused: open the socket with a ticket")
        async with state.sessionmaker() as session:
            inbox = await get_widget_inbox(session, ws.query_params.get("inbox", ""))
            contact: Contact = await check_ticket(session, state, inbox, ws.query_params.get("ticket"))
    except KefuError:
        await ws.close(code=4401, reason="unauthorized")
        return
    await ws.accept(subprotocol=_subprotocol(ws))
    sub = await state.bus.subscribe(contact_topic(contact.id))

    async def on_typing(msg: dict[str, Any]) -> None:
        async with state.sessionmaker() as session:
            conv = await latest_conversation(session, inbox, contact)
        if conv is not None:
            await publish_typing(
                state.bus,
                conv,
                sender={"type": "contact", "id": contact.id, "name": contact.name},
                typing=bool(msg.get("typing", True)),
            )

    def signed_out(msg: dict[str, Any]) -> bool:
        return msg.get("type") == EventType.CONTACT_SIGNED_OUT and msg.get("contact_id") == contact.id

    await _serve(ws, state, sub, Event.contact_id == contact.id, widget_visible, on_typing, ends=signed_out)


def _out(msg: dict[str, Any]) -> dict[str, Any]:
    """A frame as sent: a message's attachment URLs signed now (stored ones expire)."""
    payload = msg.get("payload")
    if msg.get("type") == EventType.MESSAGE_CREATED and isinstance(payload, dict) and payload.get("attachments"):
        return {**msg, "payload": {**payload, "attachments": fresh_urls(payload["attachments"])}}
    return msg


async def _serve(
    ws: WebSocket, state: AppState, sub: Subscription, where: Any, visible: Filter, on_typing: Any, *, ends: Filter
) -> None:
    try:
        replayed = await _replay(ws, state, where, visible, _last_event_id(ws))
        pump = asyncio.create_task(_pump(ws, sub, visible, replayed, ends))
        try:
            await _receive(ws, on_typing)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
    except WebSocketDisconnect:
        pass
    finally:
        await sub.close()


async def _replay(ws: WebSocket, state: AppState, where: Any, visible: Filter, after: int | None) -> set[int]:
    """Send hello, then every stored event after `after` (in batches); return the ids read from the log."""
    covered: set[int] = set()
    async with state.sessionmaker() as session:
        newest = (await session.execute(select(func.max(Event.id)).where(where))).scalar() or 0
        await ws.send_json({"type": "hello", "last_event_id": newest})
        last = newest if after is None else after
        while last < newest:
            q = select(Event).where(where, Event.id > last).order_by(Event.id).limit(REPLAY_LIMIT)
            batch = list((await session.execute(q)).scalars())
            if not batch:
                break
            for msg in await event_messages(session, batch):
                covered.add(msg["id"])
                if visible(msg):
                    await ws.send_json(_out(msg))
            last = batch[-1].id
    return covered


async def _pump(ws: WebSocket, sub: Subscription, visible: Filter, replayed: set[int], ends: Filter) -> None:
    """Live events, except those the replay already sent. Skipping by id set, not by "id <= newest": on
    PostgreSQL a transaction can commit after one with a higher id (ids are drawn before commit), and
    its event, arriving live after the hello, must still be delivered. An event that `ends` the socket
    (the visitor was signed out) closes it with 4401."""
    async for msg in sub:
        if ends(msg):
            await ws.close(code=4401, reason="signed out")
            return
        eid = msg.get("id")
        if eid is not None and eid in replayed:
            replayed.discard(eid)  # each id comes live at most once
            continue
        if visible(msg):
            await ws.send_json(_out(msg))


async def _receive(ws: WebSocket, on_typing: Any) -> None:
    while True:
        raw = await ws.receive_text()
        try:
            msg = json.loads(raw)
        except json.JSONDecodeError:
            await ws.send_json({"type": "error", "message": "frames must be JSON"})
            continue
        if msg.get("type") == "ping":
            await ws.send_json({"type": "pong"})
        elif msg.get("type") == "typing" and msg.get("conversation_id") is not None:
            try:
                await on_typing(msg)
            except KefuError as exc:
                await ws.send_json({"type": "error", "message": exc.message})
        else:
            await ws.send_json({"type": "error", "message": "unknown frame type"})
