"""Admin → Outbound hosts: the list the bot's flow actions may call, in three languages, admins only."""

from __future__ import annotations

from kefu.core.constants import Role
from tests.support.factories import World
from tests.web.conftest import Browser, login


async def test_admin_saves_the_list_and_a_bad_entry_is_shown(api: World, admin_browser: Browser) -> None:
    page = await admin_browser.http.get("/admin/outbound?lang=zh_CN")
    assert page.status_code == 200
    assert "<h1>外部接口</h1>" in page.text
    r = await admin_browser.post_form("/admin/outbound", {"hosts": "api.shop.example:443\nERP.lan, 10.0.0.5:8080\n"})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/outbound")
    hosts = ["api.shop.example:443", "erp.lan", "10.0.0.5:8080"]
    assert (await api.http.get("/api/v1/account/outbound_hosts")).json() == {"hosts": hosts}
    page = await admin_browser.http.get("/admin/outbound?lang=en")
    assert "<h1>Outbound hosts</h1>" in page.text and "api.shop.example:443\nerp.lan\n10.0.0.5:8080" in page.text

    r = await admin_browser.post_form("/admin/outbound", {"hosts": "http://127.0.0.1:6379/x"})
    assert r.status_code == 422
    assert "&#39;http://127.0.0.1:6379/x&#39;: give a host or host:port, not a URL" in r.text
    assert (await api.http.get("/api/v1/account/outbound_hosts")).json() == {"hosts": hosts}


async def test_zh_tw_title_and_supervisors_get_the_403_page(api: World) -> None:
    admin = await login(api, api.admin, cookies={"kefu_locale": "zh_TW"})
    assert "<h1>外部介面</h1>" in (await admin.http.get("/admin/outbound")).text
    sup = await login(api, await api.user(Role.SUPERVISOR))
    assert (await sup.http.get("/admin/outbound")).status_code == 403
    r = await sup.post_form("/admin/outbound", {"hosts": "127.0.0.1:6379"})
    assert r.status_code == 403
    assert (await api.http.get("/api/v1/account/outbound_hosts")).json() == {"hosts": []}
