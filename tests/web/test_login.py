"""/login, /logout and the redirect of logged-out visitors."""

from __future__ import annotations

import httpx

from kefu.auth.deps import SESSION_COOKIE
from kefu.core.constants import Role
from tests.support.factories import PASSWORD, World
from tests.web.conftest import login


def _client(api: World, **kw: object) -> httpx.AsyncClient:
    return api.client(**kw)


async def test_logged_out_page_redirects_to_login(api: World) -> None:
    http = _client(api)
    r = await http.get("/app?view=mine")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fapp%3Fview%3Dmine"
    r = await http.get("/admin/agents")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    root = await http.get("/")
    assert (root.status_code, root.headers["location"]) == (303, "/login")


async def test_login_form_sets_session_cookie_and_opens_workspace(api: World) -> None:
    agent = await api.user(Role.AGENT, name="王小明")
    http = _client(api)
    page = await http.get("/login?lang=en")
    assert page.status_code == 200
    assert "<h1>Log in to kefu</h1>" in page.text
    r = await http.post("/login", data={"email": agent.email.upper(), "password": PASSWORD, "next": "/app?view=mine"})
    assert r.status_code == 303
    assert r.headers["location"] == "/app?view=mine"
    cookie = r.cookies.get(SESSION_COOKIE)
    assert cookie
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=lax" in r.headers["set-cookie"].lower()
    ws = await http.get("/app")
    assert ws.status_code == 200
    assert 'id="workspace"' in ws.text
    assert "王小明" in ws.text
    assert (await http.get("/login")).headers["location"] == "/app"


async def test_login_never_redirects_off_site(api: World) -> None:
    agent = await api.user(Role.AGENT)
    r = await _client(api).post("/login", data={"email": agent.email, "password": PASSWORD, "next": "//evil.example/x"})
    assert (r.status_code, r.headers["location"]) == (303, "/app")


async def test_wrong_password_is_shown_in_the_page(api: World) -> None:
    agent = await api.user(Role.AGENT)
    http = _client(api, cookies={"kefu_locale": "en"})
    r = await http.post("/login", data={"email": agent.email, "password": "nope-nope", "next": "/app"})
    assert r.status_code == 401
    assert '<p class="alert error" role="alert" id="login-error">Wrong email or password.</p>' in r.text
    assert SESSION_COOKIE not in r.cookies
    zh = await _client(api, cookies={"kefu_locale": "zh_CN"}).post(
        "/login", data={"email": agent.email, "password": "nope-nope"}
    )
    assert "邮箱或密码错误。" in zh.text


async def test_deactivated_user_cannot_log_in(api: World) -> None:
    agent = await api.user(Role.AGENT)
    r = await api.http.patch(f"/api/v1/users/{agent.id}", json={"is_active": False})
    assert r.status_code == 200
    r = await _client(api, cookies={"kefu_locale": "en"}).post(
        "/login", data={"email": agent.email, "password": PASSWORD}
    )
    assert r.status_code == 401
    assert "This user is deactivated." in r.text


async def test_too_many_attempts_shows_rate_limit_message(api: World) -> None:
    agent = await api.user(Role.AGENT)
    http = _client(api, cookies={"kefu_locale": "en"})
    statuses = []
    for _ in range(6):
        r = await http.post("/login", data={"email": agent.email, "password": "wrong-password"})
        statuses.append(r.status_code)
    assert statuses == [401] * 5 + [429]
    assert "Too many login attempts. Try again in" in r.text
    assert int(r.headers["retry-after"]) > 0


async def test_logout_needs_csrf_and_ends_the_session(api: World) -> None:
    agent = await api.user(Role.AGENT)
    browser = await login(api, agent)
    r = await browser.post_form("/logout", {}, csrf=False)
    assert r.status_code == 403
    assert (await browser.http.get("/app")).status_code == 200
    r = await browser.post_form("/logout", {})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert (await browser.http.get("/app")).status_code == 303
    assert (await browser.http.get("/api/v1/me")).status_code == 401


async def test_unknown_page_is_an_html_404_but_unknown_api_path_stays_json(api: World) -> None:
    http = _client(api, cookies={"kefu_locale": "en"})
    r = await http.get("/admin/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Not found" in r.text
    r = await http.get("/api/v1/no-such-endpoint")
    assert r.status_code == 404 and r.json() == {"error": {"code": "not_found", "message": "no such endpoint"}}
