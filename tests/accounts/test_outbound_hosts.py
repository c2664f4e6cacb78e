"""The account's outbound hosts (what the bot's flow actions may call): admins only, validated, and the
demo's order API mounted only where the demo runs."""

from __future__ import annotations

import httpx

from kefu.core.constants import Role
from kefu.main import create_app
from kefu.settings import Settings
from tests.support.factories import World

PATH = "/api/v1/account/outbound_hosts"


async def test_admins_list_hosts_and_ports(api: World) -> None:
    assert (await api.http.get(PATH)).json() == {"hosts": []}
    r = await api.http.put(PATH, json={"hosts": ["API.shop.example:443", "erp.lan", "[FD00::5]:80", "erp.lan"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"hosts": ["api.shop.example:443", "erp.lan", "[fd00::5]:80"]}
    assert (await api.http.get(PATH)).json() == r.json()
    events = (await api.http.get("/api/v1/events", params={"type": "account.updated"})).json()
    assert events[-1]["payload"] == {"outbound_hosts": ["api.shop.example:443", "erp.lan", "[fd00::5]:80"]}


async def test_a_bad_entry_is_422_and_changes_nothing(api: World) -> None:
    await api.http.put(PATH, json={"hosts": ["erp.lan:8080"]})
    r = await api.http.put(PATH, json={"hosts": ["ok.example", "http://127.0.0.1:6379/"]})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "hosts: Value error, 'http://127.0.0.1:6379/': give a host or host:port, not a URL"
    )
    r = await api.http.put(PATH, json={"hosts": [f"h{i}.example" for i in range(51)]})
    assert r.status_code == 422
    assert (await api.http.get(PATH)).json() == {"hosts": ["erp.lan:8080"]}


async def test_supervisors_who_edit_flows_may_not_widen_what_they_call(api: World) -> None:
    await api.http.put(PATH, json={"hosts": ["erp.lan:8080"]})
    sup = await api.user(Role.SUPERVISOR)
    r = await sup.client.put(PATH, json={"hosts": ["127.0.0.1:6379"]})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "your role (supervisor) may not manage outbound"
    assert (await sup.client.get(PATH)).status_code == 403
    assert (await api.http.get(PATH)).json() == {"hosts": ["erp.lan:8080"]}


async def test_the_demo_order_api_is_served_only_with_the_demo_and_never_documented(api: World) -> None:
    r = await api.client().get("/api/v1/demo/orders/KF20261125001")  # the test server runs with KEFU_DEMO=1
    assert r.status_code == 200
    spec = (await api.client().get("/api/v1/openapi.json")).json()
    assert not [p for p in spec["paths"] if p.startswith("/api/v1/demo")]
    for demo, status in ((False, 404), (True, 200)):  # the route needs no database: the app is not started
        app = create_app(Settings(env="test", database_url="sqlite+aiosqlite:///./var/never-opened.db", demo=demo))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kefu") as c:
            assert (await c.get("/api/v1/demo/orders/KF20261125001")).status_code == status
