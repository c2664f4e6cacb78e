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
- Keep-alive: the server's protocol pings every KEFU_WS_PING_S (browsers answer them by themselves); the
  JSON ping is answered for clients that want an application-level check, and is not needed.

Close codes (docs/realtime.md): 4401 the visitor was signed out; 1013 "try again later" — the process
is at KEFU_WS_MAX_SOCKETS open or KEFU_WS_MAX_CONNECTING opening sockets, or the database or Redis did not
answer while the socket opened — with the reason `retry_after=N` (seconds). The widget waits that long plus
a random share of its backoff (full jitter) before it reconnects, so a restarted server is not hit by every
client at the same instant.

Cost per idle socket (kefu bench sockets): opening reads through the read-only sessions (no write
transaction, on SQLite no wait for the writer); the socket then holds plain ids, a bus listener that
calls `_Outbox.deliver`, and no task of its own: a sender task exists only while frames are queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import functools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import func, select

from kefu.attachments.urls import fresh_urls
from kefu.auth.deps import SESSION_COOKIE
from kefu.auth.principal import Principal
from kefu.auth.service import get_principal_by_api_token, get_principal_by_session
from kefu.channels.widget.service import check_ticket, latest_conversation, widget_inboxes
from kefu.contacts.models import Contact
from kefu.conversations.event_messages import event_messages
from kefu.conversations.schemas import InboxRef
from kefu.conversations.service import get_conversation
from kefu.core import metrics
from kefu.core.bus import Listening
from kefu.core.constants import EventType, MessageKind
from kefu.core.errors import KefuError
from kefu.core.eventlog import Event
from kefu.core.events import account_topic, contact_topic
from kefu.core.services import ServiceKey
from kefu.core.state import AppState
from kefu.realtime.typing import publish_typing

log = logging.getLogger(__name__)
router = APIRouter()
REPLAY_LIMIT = 1000
OUTBOX_LIMIT = 1000  # live frames queued for a slow client; past it the oldest are dropped
SUBPROTOCOL = "kefu"
BEARER_PROTOCOL = "kefu.bearer."
TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (IANA registry): the server is overloaded, try again later
Filter = Callable[[dict[str, Any]], bool]
T = TypeVar("T")
OnTyping = Callable[[dict[str, Any]], Awaitable[None]]


TRIM_AFTER_CLOSED = 1000  # sockets closed since the peak before the freed memory is handed back
TRIM_DELAY_S = 3.0


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where there is one (elsewhere freed memory simply stays with the process)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _give_back_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class Sockets:
    """This process's sockets: how many are open, by kind, and how many are opening — the numbers load
    shedding decides by (and metrics show). After a mass close (half of the peak and at least
    `TRIM_AFTER_CLOSED` gone) the allocator is asked to return its free pages to the system, in a
    thread: Python keeps what its own arenas free, but C-level blocks (socket buffers, dict tables) stay
    in the heap, and a node that held 10,000 sockets before a network blip would otherwise keep their RSS."""

    def __init__(self, max_open: int, max_connecting: int, retry_after_s: int) -> None:
        self.max_open = max_open
        self.max_connecting = max_connecting
        self.retry_after_s = retry_after_s
        self.open: dict[str, int] = {"agent": 0, "widget": 0}
        self.connecting = 0
        self.shed = 0
        self.peak = 0
        self.trims = 0

    def opened(self, kind: str) -> None:
        self.connecting -= 1
        self.open[kind] += 1
        self.peak = max(self.peak, sum(self.open.values()))

    def closed(self, kind: str) -> None:
        self.open[kind] -= 1
        total = sum(self.open.values())
        if self.peak - total >= TRIM_AFTER_CLOSED and total <= self.peak // 2:
            self.peak = total
            self.trims += 1
            loop = asyncio.get_running_loop()  # once the wave of closes has passed, not in its middle
            loop.call_later(TRIM_DELAY_S, loop.run_in_executor, None, _give_back_memory)

    def admit(self) -> bool:
        """Count a socket as opening, or say no (the caller sheds it) when the process is full."""
        if self.connecting >= self.max_connecting or sum(self.open.values()) >= self.max_open:
            self.shed += 1
            return False
        self.connecting += 1
        return True


SOCKETS: ServiceKey[Sockets] = ServiceKey("the process's socket counts", "kefu.realtime.ws, on first use")


def sockets(state: AppState) -> Sockets:
    s = state.settings
    return state.services.get_or_install(
        SOCKETS, lambda: Sockets(s.ws_max_sockets, s.ws_max_connecting, s.ws_retry_after_s)
    )


async def _shed(ws: WebSocket, state: AppState, kind: str) -> None:
    """Refuse a socket the process cannot take now: accepted, then closed with 1013 and a retry hint
    (a refused handshake would reach a browser as a bare 1006, without the code or the hint)."""
    metrics.socket_shed(kind)
    await ws.accept(subprotocol=_subprotocol(ws))
    await ws.close(code=TRY_AGAIN_LATER, reason=f"retry_after={sockets(state).retry_after_s}")


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
    # The write-capable sessions: a session's last-seen time is kept up to date (few agents, not hot).
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


async def _admitted(
    ws: WebSocket, state: AppState, kind: str, authenticate: Callable[[], Awaitable[T | None]]
) -> T | None:
    """Admit a socket that is opening and authenticate it: shed it (1013) when the process is full or the
    database or Redis fails, refuse it (4401) when `authenticate` says no (None or a KefuError). On
    success the socket stays counted as opening until `_serve` accepts it; otherwise None."""
    count = sockets(state)
    if not count.admit():
        await _shed(ws, state, kind)
        return None
    try:
        who = await authenticate()
    except KefuError:
        who = None
    except Exception as exc:  # the database or Redis did not answer: shed, the client retries later
        count.connecting -= 1
        log.warning("%s socket shed: %s: %s", kind, type(exc).__name__, exc)
        await _shed(ws, state, kind)
        return None
    if who is None:
        count.connecting -= 1
        await ws.close(code=4401, reason="unauthorized")
    return who


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    state = _state(ws)
    principal = await _admitted(ws, state, "agent", lambda: _agent_principal(ws, state))
    if principal is None:
        return
    account_id, user_id = principal.account_id, principal.user.id
    user = {"type": "user", "id": user_id, "name": principal.user.name}
    me = {"type": "user", "id": user_id}

    async def on_typing(msg: dict[str, Any]) -> None:
        async with state.read_sessionmaker() as session:
            conv = await get_conversation(session, account_id, int(msg["conversation_id"]))
        await publish_typing(state.bus, conv, sender=user, typing=bool(msg.get("typing", True)))

    def visible(msg: dict[str, Any]) -> bool:  # everything in the account, except my own typing echo
        return not (msg.get("type") == "typing" and msg.get("actor") == me)

    await state.hooks.agent_socket(state, account_id, user_id, opened=True)
    try:
        await _serve(
            ws, state, "agent", account_topic(account_id), Event.account_id == account_id, visible, on_typing, _never
        )
    finally:
        await state.hooks.agent_socket(state, account_id, user_id, opened=False)


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
    if "token" in ws.query_params:  # a contact token in the URL is refused: open the socket with a ticket
        await ws.close(code=4401, reason="unauthorized")
        return

    async def authenticate() -> tuple[InboxRef, Contact]:
        # No write transaction: the inbox from the process's cache, the ticket checked by its signature
        # and the shared limiter, the contact read on a read-only session.
        inbox = await widget_inboxes(state).get(ws.query_params.get("inbox", ""))
        async with state.read_sessionmaker() as session:
            return inbox, await check_ticket(session, state, inbox, ws.query_params.get("ticket"))

    admitted = await _admitted(ws, state, "widget", authenticate)
    if admitted is None:
        return
    inbox, contact = admitted
    contact_id, contact_name = contact.id, contact.name
    sender = {"type": "contact", "id": contact_id, "name": contact_name}

    async def on_typing(msg: dict[str, Any]) -> None:
        async with state.read_sessionmaker() as session:
            conv = await latest_conversation(session, inbox, contact_id)
        if conv is not None:
            await publish_typing(state.bus, conv, sender=sender, typing=bool(msg.get("typing", True)))

    def signed_out(msg: dict[str, Any]) -> bool:
        return msg.get("type") == EventType.CONTACT_SIGNED_OUT and msg.get("contact_id") == contact_id

    await _serve(
        ws,
        state,
        "widget",
        contact_topic(contact_id),
        Event.contact_id == contact_id,
        widget_visible,
        on_typing,
        signed_out,
    )


ENDPOINTS: dict[str, Callable[[WebSocket], Awaitable[None]]] = {
    "/ws/agent": agent_socket,
    "/ws/widget": widget_socket,
}
SOCKET_PATHS = frozenset(ENDPOINTS)


async def serve_socket(scope: Any, receive: Any, send: Any) -> None:
    """The socket endpoints as a bare ASGI app (kefu.main.KefuApp serves the socket paths through it, so
    an open socket holds no framework frames); the same endpoints are routed normally too."""
    await ENDPOINTS[scope["path"]](WebSocket(scope, receive, send))


def _out(msg: dict[str, Any]) -> dict[str, Any]:
    """A frame as sent: a message's attachment URLs signed now (stored ones expire)."""
    payload = msg.get("payload")
    if msg.get("type") == EventType.MESSAGE_CREATED and isinstance(payload, dict) and payload.get("attachments"):
        return {**msg, "payload": {**payload, "attachments": fresh_urls(payload["attachments"])}}
    return msg


class _Outbox:
    """A socket's live events. The bus calls `deliver` in its own task; frames wait in a deque (made when
    the first one comes) for a sender task that exists only while there is something to send — an idle
    socket holds neither. Live events are held back until the replay is done (`replaying`), and those the
    replay already sent are skipped by id, not by "id <= newest": on PostgreSQL a transaction can commit
    after one with a higher id (ids are drawn before commit), and its event, arriving live after the
    hello, must still be delivered. An event that `ends` the socket (the visitor was signed out) closes it
    with 4401."""

    __slots__ = ("context", "done", "ends", "pending", "replayed", "replaying", "sender", "visible", "ws")

    def __init__(self, ws: WebSocket, visible: Filter, ends: Filter) -> None:
        self.ws = ws
        self.visible = visible
        self.ends = ends
        self.replayed: set[int] | None = None
        self.pending: deque[dict[str, Any]] | None = None
        self.sender: asyncio.Task[None] | None = None
        self.replaying = True
        self.done = False
        # The socket's context (the attachment-URL signer): the sender is started from the publisher's task.
        self.context = contextvars.copy_context()

    def deliver(self, msg: dict[str, Any]) -> None:
        if self.done:
            return
        if self.pending is None:
            self.pending = deque(maxlen=OUTBOX_LIMIT)
        self.pending.append(msg)
        self.flush()

    def flush(self) -> None:
        if self.sender is None and self.pending and not self.replaying:
            self.sender = asyncio.create_task(self._send(), context=self.context)

    async def _send(self) -> None:
        try:
            while self.pending:
                msg = self.pending.popleft()
                if self.ends(msg):
                    self.done = True
                    await self.ws.close(code=4401, reason="signed out")
                    return
                eid = msg.get("id")
                if self.replayed and eid in self.replayed:
                    self.replayed.discard(eid)  # each id comes live at most once
                    continue
                if self.visible(msg):
                    await self.ws.send_json(_out(msg))
        except Exception:  # the client went away mid-send: the socket's own task ends it
            self.done = True
        finally:
            if not self.pending:
                self.pending = None  # an idle socket holds no deque
            self.sender = None

    async def stop(self) -> None:
        self.done = True
        if self.sender is not None:
            self.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.sender


async def _serve(
    ws: WebSocket,
    state: AppState,
    kind: str,
    topic: str,
    where: Any,
    visible: Filter,
    on_typing: OnTyping,
    ends: Filter,
) -> None:
    """Accept, listen on `topic`, replay, then read the client's frames in this (the socket's only) task."""
    count = sockets(state)
    outbox = _Outbox(ws, visible, ends)
    listening: Listening | None = None
    count.opened(kind)
    metrics.socket_opened(kind)
    try:
        try:
            await ws.accept(subprotocol=_subprotocol(ws))
            listening = await state.bus.listen(outbox.deliver, topic)
            outbox.replayed = await _replay(ws, state, where, visible, _last_event_id(ws)) or None
        except WebSocketDisconnect:
            raise
        except Exception as exc:  # the database or Redis failed while the socket opened: the client retries
            log.warning("%s socket shed while opening: %s: %s", kind, type(exc).__name__, exc)
            metrics.socket_shed(kind)
            with contextlib.suppress(Exception):
                await ws.close(code=TRY_AGAIN_LATER, reason=f"retry_after={count.retry_after_s}")
            return
        outbox.replaying = False
        outbox.flush()
        await _receive(ws, on_typing)
    except WebSocketDisconnect:
        pass
    finally:
        count.closed(kind)
        metrics.socket_closed(kind)
        await outbox.stop()
        if listening is not None:
            await listening.close()


async def _replay(ws: WebSocket, state: AppState, where: Any, visible: Filter, after: int | None) -> set[int]:
    """Send hello, then every stored event after `after` (in batches); return the ids read from the log.
    A read-only session: on SQLite it does not wait for the writer."""
    covered: set[int] = set()
    async with state.read_sessionmaker() as session:
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


async def _receive(ws: WebSocket, on_typing: OnTyping) -> None:
    while True:
        raw = await ws.receive_text()
        try:
            msg = json.loads(raw)
        except json.JSONDecodeError:
            await ws.send_json({"type": "error", "message": "frames must be JSON"})
            continue
        if not isinstance(msg, dict):
            await ws.send_json({"type": "error", "message": "frames must be JSON objects"})
        elif msg.get("type") == "ping":
            await ws.send_json({"type": "pong"})
        elif msg.get("type") == "typing" and msg.get("conversation_id") is not None:
            try:
                await on_typing(msg)
            except KefuError as exc:
                await ws.send_json({"type": "error", "message": exc.message})
            except (TypeError, ValueError):
                await ws.send_json({"type": "error", "message": "conversation_id must be a number"})
        else:
            await ws.send_json({"type": "error", "message": "unknown frame type"})
