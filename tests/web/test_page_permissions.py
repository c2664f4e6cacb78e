"""Every /app and /admin page declares its permission with the same Can* dependency the API uses, and a
user without it gets the 403 page (a visitor without a login, the login page)."""

from __future__ import annotations

from typing import Any, get_args

from fastapi.dependencies.models import Dependant

from kefu.auth import deps
from kefu.core.constants import Role
from kefu.core.errorhandlers import routes
from kefu.main import create_app
from kefu.settings import Settings
from tests.support.factories import World
from tests.web.conftest import login

# The permission each page area needs; a longer prefix wins.
EXPECTED = {
    "/app": "CanHandle",
    "/admin": "CanManageTeams",
    "/admin/inboxes": "CanManageInboxes",
    "/admin/agents": "CanManageUsers",
    "/admin/teams": "CanManageTeams",
    "/admin/hours": "CanManageTeams",
    "/admin/tokens": "CanManageTokens",
    "/admin/outbound": "CanManageOutbound",
    "/admin/bot": "CanManageBot",
    "/admin/knowledge": "CanManageKnowledge",
    "/admin/listeners": "CanManageListeners",
    "/admin/sla": "CanManageTeams",
    "/admin/automation": "CanManageAutomation",
    "/admin/webhooks": "CanManageWebhooks",
    "/app/knowledge": "CanHandle",
    "/admin/routing/priority": "CanManageTeams",
    "/app/staffing": "CanManageTeams",
    "/app/tickets": "CanHandle",
    "/app/tickets/{ticket_id}/delete": "CanManageTeams",
    "/admin/tickets": "CanManageTeams",
    "/app/queue": "CanManageTeams",
    "/admin/routing": "CanManageTeams",
    "/admin/continuity": "CanManageInboxes",
    "/app/contacts/{contact_id}/identities": "CanManageContacts",
    "/app/contacts/{contact_id}/merge": "CanManageContacts",
    "/app/contacts/{contact_id}/split": "CanManageContacts",
}
CAN = {get_args(getattr(deps, name))[1].dependency: name for name in dir(deps) if name.startswith("Can")}


def _calls(dependant: Dependant) -> list[Any]:
    found = []
    for dep in dependant.dependencies:
        found.append(dep.call)
        found += _calls(dep)
    return found


def _page_routes() -> list[Any]:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///./var/never-opened.db"))
    return [r for r in routes(app) if hasattr(r, "dependant") and str(r.path).startswith(("/app", "/admin"))]


def _expected(path: str) -> str:
    prefix = max((p for p in EXPECTED if path == p or path.startswith(p + "/")), key=len)
    return EXPECTED[prefix]


def test_every_app_and_admin_page_declares_its_permission() -> None:
    routes = _page_routes()
    assert len(routes) >= 40  # the walk found the pages
    wrong = {}
    for route in routes:
        declared = sorted({CAN[c] for c in _calls(route.dependant) if c in CAN})
        if declared != [_expected(route.path)]:
            wrong[f"{sorted(route.methods)} {route.path}"] = declared
    assert wrong == {}


async def test_an_agent_gets_the_403_page_and_a_visitor_the_login(api: World) -> None:
    agent = await api.user(Role.AGENT, name="Ann")
    browser = await login(api, agent)
    for path in ("/admin/inboxes", "/admin/bot/intents", "/admin/knowledge", "/admin/tokens"):
        r = await browser.http.get(path + "?lang=en")
        assert r.status_code == 403, path
        assert r.headers["X-Kefu-Error"] == "forbidden"
        assert "You do not have permission to see this page" in r.text
        assert "Ann" in r.text  # the page still knows who is logged in (menu)
    r = await browser.http.post("/admin/inboxes", data={"name": "x", "csrf_token": browser.csrf})
    assert r.status_code == 403
    assert [i["name"] for i in (await api.http.get("/api/v1/inboxes")).json()] == []  # nothing created
    r = await api.client().get("/admin/inboxes", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=%2Fadmin%2Finboxes")
    r = await browser.http.get("/app")
    assert r.status_code == 200
