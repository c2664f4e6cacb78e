"""A local server implementing the contract of the WeChat Official Account and WeCom customer-service
APIs kefu calls — their documented request and response shapes and error codes — on a free loopback
port, in a thread of its own (so a `kefu worker` process can call it too). It records every call.

- GET  /cgi-bin/token?grant_type=client_credential&appid&secret   → access_token, expires_in (40013, 40125)
- POST /cgi-bin/message/custom/send?access_token                   → errcode 0 (40001, 42001, 45015)
- GET  /cgi-bin/gettoken?corpid&corpsecret                          → access_token, expires_in (40013, 40001)
- POST /cgi-bin/kf/sync_msg?access_token                            → next_cursor, has_more, msg_list
- POST /cgi-bin/kf/send_msg?access_token                            → msgid
- POST /cgi-bin/kf/service_state/trans?access_token                 → msg_code

A token is valid until `expire_tokens()` (then 42001, as WeChat answers for an expired one); an unknown
token is 40001. `fail_next[path] = (errcode, errmsg)` makes the next call of a path fail once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

EXPIRES_IN = 7200


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class WxState:
    apps: dict[str, str] = field(default_factory=dict)  # Official Account app id → app secret
    corps: dict[str, str] = field(default_factory=dict)  # WeCom corp id → secret
    tokens: dict[str, bool] = field(default_factory=dict)  # issued token → still valid
    calls: list[Call] = field(default_factory=list)
    kf_messages: list[dict[str, Any]] = field(default_factory=list)  # what sync_msg pages through
    window_closed: set[str] = field(default_factory=set)  # openids WeChat answers 45015 for
    fail_next: dict[str, tuple[int, str]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = False

    def of(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def new_token(self) -> str:
        token = f"ACCESS_TOKEN_{next(self._ids)}"
        self.tokens[token] = True
        return token


def _err(code: int, msg: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": msg})


def build_app(state: WxState) -> Starlette:
    async def record(request: Request) -> Call:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        call = Call(request.method, request.url.path, dict(request.query_params), body)
        state.calls.append(call)
        return call

    def injected(call: Call) -> JSONResponse | None:
        failing = state.fail_next.pop(call.path, None)
        return _err(*failing) if failing else None

    def bad_token(call: Call) -> JSONResponse | None:
        token = call.query.get("access_token", "")
        if token not in state.tokens:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if not state.tokens[token]:
            return _err(42001, "access_token expired")
        return None

    async def token(request: Request) -> JSONResponse:
        call = await record(request)
        q = call.query
        if q.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        if q.get("appid") not in state.apps:
            return _err(40013, "invalid appid")
        if state.apps[q["appid"]] != q.get("secret"):
            return _err(40125, "invalid appsecret")
        return injected(call) or JSONResponse({"access_token": state.new_token(), "expires_in": EXPIRES_IN})

    async def gettoken(request: Request) -> JSONResponse:
        call = await record(request)
        q = call.query
        if q.get("corpid") not in state.corps:
            return _err(40013, "invalid corpid")
        if state.corps[q["corpid"]] != q.get("corpsecret"):
            return _err(40001, "invalid secret")
        token = state.new_token()
        return injected(call) or JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": EXPIRES_IN}
        )

    async def custom_send(request: Request) -> JSONResponse:
        call = await record(request)
        refused = bad_token(call) or injected(call)
        if refused:
            return refused
        body = call.body or {}
        if not body.get("touser") or body.get("msgtype") not in ("text", "image"):
            return _err(40008, "invalid message type")
        if body["touser"] in state.window_closed:
            return _err(45015, "response out of time limit or subscription is canceled")
        return _err(0, "ok")

    async def sync_msg(request: Request) -> JSONResponse:
        call = await record(request)
        refused = bad_token(call) or injected(call)
        if refused:
            return refused
        body = call.body or {}
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 1000)
        if not 1 <= limit <= 1000:
            return _err(40058, "limit must be 1..1000")
        kfid = body.get("open_kfid")
        mine = [m for m in state.kf_messages if not kfid or m.get("open_kfid") == kfid]
        page = mine[start : start + limit]
        end = start + len(page)
        return JSONResponse(
            {
                "errcode": 0,
                "errmsg": "ok",
                "next_cursor": str(end),
                "has_more": 1 if end < len(mine) else 0,
                "msg_list": page,
            }
        )

    async def kf_send(request: Request) -> JSONResponse:
        call = await record(request)
        refused = bad_token(call) or injected(call)
        if refused:
            return refused
        body = call.body or {}
        if not body.get("touser") or not body.get("open_kfid") or body.get("msgtype") != "text":
            return _err(40096, "invalid external userid or open_kfid")
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": f"MSG{next(state._ids)}"})

    async def trans(request: Request) -> JSONResponse:
        call = await record(request)
        refused = bad_token(call) or injected(call)
        if refused:
            return refused
        body = call.body or {}
        if body.get("service_state") not in (1, 2, 3, 4):
            return _err(95016, "invalid service_state")
        if body["service_state"] == 3 and not body.get("servicer_userid"):
            return _err(95014, "servicer_userid required")
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msg_code": ""})

    return Starlette(
        routes=[
            Route("/cgi-bin/token", token),
            Route("/cgi-bin/message/custom/send", custom_send, methods=["POST"]),
            Route("/cgi-bin/gettoken", gettoken),
            Route("/cgi-bin/kf/sync_msg", sync_msg, methods=["POST"]),
            Route("/cgi-bin/kf/send_msg", kf_send, methods=["POST"]),
            Route("/cgi-bin/kf/service_state/trans", trans, methods=["POST"]),
        ]
    )


@dataclass
class WxServer:
    base_url: str
    state: WxState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve() -> Iterator[WxServer]:
    """The contract server on a free loopback port, in its own thread and event loop."""
    state = WxState()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(state), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the WeChat contract server did not start")
        threading.Event().wait(0.01)
    try:
        yield WxServer(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(5)


_SHARED: list[tuple[Any, WxServer]] = []


def shared() -> WxServer:
    """One contract server for the whole test process (started on first use, a daemon thread)."""
    if not _SHARED:
        manager = serve()
        _SHARED.append((manager, manager.__enter__()))
    return _SHARED[0][1]
