"""Every operation of the OpenAPI document, fuzzed by schemathesis against a live server.

Checks: no 5xx; only documented status codes, content types and response bodies; schema-invalid input
(negative mode) refused with a 4xx. Valid ids in generated paths are replaced by rows that exist, so the
fuzzer reaches past the 404s; invalid ones are sent as generated (they must be a 422).

The fuzzing admin must not lock itself out: revoking API tokens, logging out and changing users run as
the admin of a second account, against a user and tokens of that account made for the purpose.

Positive-data acceptance is not checked: the document cannot express every service rule (a flow's
prompt needs a zh or en text, an empty upload is refused, a conversation update must change something),
and those refusals are precise 4xx answers, not bugs. SQLite runs more examples than PostgreSQL."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from kefu.core.constants import Role
from kefu.core.schemas import MAX_ID
from kefu.main import create_app
from kefu.settings import Settings
from tests.support.factories import new_account
from tests.support.server import start_server

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
AS_OTHER_ADMIN = {
    ("DELETE", "/api/v1/api_tokens/{token_id}"),
    ("POST", "/api/v1/auth/logout"),
    ("PATCH", "/api/v1/users/{user_id}"),
}
EXAMPLES = {"sqlite": 12, "postgres": 4}


@dataclass
class Fuzzed:
    base_url: str
    backend: str
    admin: dict[str, str]  # headers
    other_admin: dict[str, str]
    victim_id: int  # a user of the other account
    ids: dict[str, Any]  # path parameter → an existing row
    contact: dict[str, str]  # the widget visitor's headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(backend: dict[str, Any], found: queue.Queue[Any], stop: threading.Event) -> None:
    """A kefu server on its own thread and event loop: schemathesis' tests are synchronous and would
    block a server running on the test's loop."""

    async def main() -> None:
        prefix = f"kefu-fuzz-{uuid.uuid4().hex[:8]}:"
        async with (
            start_server(backend, port=free_port(), redis_prefix=prefix) as live,
            new_account(live) as world,
            new_account(live) as other,
        ):
            victim = await other.user(Role.AGENT, "Victim")
            found.put((live.base_url, world.admin.token, other.admin.token, victim.id))
            while not stop.is_set():
                await asyncio.sleep(0.05)

    try:
        asyncio.run(main())
    except BaseException as exc:
        found.put(exc)
        raise


def _seed(http: httpx.Client) -> tuple[dict[str, Any], dict[str, str]]:
    """One row of each kind the API names in its paths."""

    def made(method: str, path: str, **kw: Any) -> Any:
        r = http.request(method, path, **kw)
        assert r.status_code in (200, 201), (path, r.text)
        return r.json()

    team = made("POST", "/api/v1/teams", json={"name": "Fuzz team"})
    inbox = made("POST", "/api/v1/inboxes", json={"name": "Fuzz site", "bot_enabled": False})
    visitor = made("POST", f"/api/v1/widget/{inbox['public_key']}/contacts", json={"name": "Visitor"})
    contact = {"X-Contact-Token": visitor["token"]}
    message = made("POST", f"/api/v1/widget/{inbox['public_key']}/messages", json={"content": "你好"}, headers=contact)
    faq = made("POST", "/api/v1/knowledge/faqs", json={"question": "怎么退货？", "answer": "七天内可退。"})
    article = made("POST", "/api/v1/knowledge/articles", json={"title": "退货", "body": "七天内可退。"})
    made("POST", f"/api/v1/knowledge/faqs/{faq['id']}/publish")
    flow = made(
        "POST",
        "/api/v1/bot/flows",
        json={
            "name": "order",
            "definition": {"slots": [{"name": "order_id", "prompt": {"zh": "订单号？"}}], "reply": {"zh": "好的"}},
        },
    )
    intent = made("POST", "/api/v1/bot/intents", json={"name": "greet", "examples": ["你好"]})
    upload = made("POST", "/api/v1/attachments", files={"file": ("a.txt", b"hello", "text/plain")})
    user = made("GET", "/api/v1/me")
    ticket = made("POST", "/api/v1/tickets", json={"subject": "退款", "conversation_id": message["conversation_id"]})
    field = made("POST", "/api/v1/tickets/fields", json={"key": "order_no", "label": "订单号", "type": "text"})
    view = made("POST", "/api/v1/tickets/views", json={"name": "Fuzz view", "filters": {"priority": "p1"}})
    ids = {
        "ticket_id": ticket["id"],
        "field_id": field["id"],
        "view_id": view["id"],
        "team_id": team["id"],
        "inbox_id": inbox["id"],
        "inbox_key": inbox["public_key"],
        "inbox_public_key": inbox["public_key"],
        "contact_id": visitor["contact_id"],
        "conv_id": message["conversation_id"],
        "faq_id": faq["id"],
        "article_id": article["id"],
        "version": 1,
        "flow_id": flow["id"],
        "intent_id": intent["id"],
        "attachment_id": upload["id"],
        "signature": upload["url"].rsplit("/", 1)[-1],
        "user_id": user["id"],
    }
    return ids, contact


def _own_database(backend: dict[str, Any], tmp_root: Path) -> dict[str, Any]:
    """SQLite: a database file of the fuzzed server's own. The synchronous fuzz calls block the test's event
    loop, so a transaction the session's server holds on that loop (its listeners and periodic jobs write in
    the background) would keep a shared file locked for the whole module."""
    if backend["name"] != "sqlite":
        return backend
    from kefu.core.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_root / 'fuzz.db'}"
    upgrade(url)
    return {**backend, "database_url": url}


@pytest.fixture(scope="module")
def fuzzed(backend: dict[str, Any], tmp_root: Path) -> Iterator[Fuzzed]:
    backend = _own_database(backend, tmp_root)
    found: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(backend, found, stop), daemon=True)
    thread.start()
    got = found.get(timeout=120)
    if isinstance(got, BaseException):
        raise got
    base_url, token, other_token, victim_id = got
    admin = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=admin, timeout=30) as http:
        ids, contact = _seed(http)
    try:
        yield Fuzzed(
            base_url, str(backend["name"]), admin, {"Authorization": f"Bearer {other_token}"}, victim_id, ids, contact
        )
    finally:
        stop.set()
        thread.join(timeout=60)


def load_schema() -> Any:
    """The app's own document, loaded at import (the server is started by a fixture; the base URL is given
    per call)."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///./var/never-opened.db"))
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20261207,
            "generation": {"mode": "all", "deterministic": True, "max-examples": EXAMPLES["sqlite"]},
            "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
        }
    )
    return schemathesis.openapi.from_dict(app.openapi(), config=config)


schema = load_schema()
sent: Counter[tuple[str, str, str]] = Counter()


def _valid_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _aim(case: Any, fuzzed: Fuzzed) -> dict[str, str]:
    """Point valid generated ids at rows that exist; the headers to send."""
    params = case.path_parameters or {}
    for name, value in params.items():
        if name in fuzzed.ids and (
            _valid_id(value) or (isinstance(value, str) and name in ("inbox_key", "inbox_public_key", "signature"))
        ):
            params[name] = fuzzed.ids[name]
    if (case.method.upper(), case.path) not in AS_OTHER_ADMIN:
        return {**fuzzed.admin, **(fuzzed.contact if "/widget/" in case.path else {})}
    if "user_id" in params and _valid_id(params["user_id"]):
        params["user_id"] = fuzzed.victim_id
    if "token_id" in params and _valid_id(params["token_id"]):
        r = httpx.post(
            f"{fuzzed.base_url}/api/v1/api_tokens", json={"name": "to revoke"}, headers=fuzzed.other_admin, timeout=30
        )
        params["token_id"] = r.json()["id"]
    return dict(fuzzed.other_admin)


@schema.parametrize()
@settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_answers_as_documented(case: Any, fuzzed: Fuzzed) -> None:
    key = (fuzzed.backend, case.method.upper(), case.path)
    sent[key] += 1
    if sent[key] > EXAMPLES[fuzzed.backend]:
        return  # fewer requests on PostgreSQL (its server and worker are slower to start and answer)
    headers = _aim(case, fuzzed)
    # /readyz's 503 is its documented answer while a dependency is not ready (tests/core/test_health.py)
    checks = [c for c in CHECKS if c is not not_a_server_error] if case.path == "/readyz" else CHECKS
    case.call_and_validate(base_url=fuzzed.base_url, headers=headers, checks=checks, timeout=60)
