"""Admin → Inboxes for channels other than the widget: a new inbox of a registered channel from a form
drawn from its config schema, the callback URL to give the provider, settings saved with secrets kept
behind a mask, a refused setting shown with its reason — admins only, in three languages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field

from kefu.channels import base
from kefu.channels.base import ChannelAdapter, DeliveryResult, InboundRequest, OutboundMessage
from kefu.channels.configs import SECRET_MASK
from kefu.channels.models import Inbox
from kefu.conversations.schemas import InboundMessage
from kefu.core.constants import Role
from kefu.core.state import AppState
from tests.support.factories import World
from tests.web.conftest import Browser, login


class ProbeConfig(BaseModel):
    webhook_url: str = Field(min_length=8, pattern=r"^https?://")
    secret: str | None = None
    retries: int = Field(3, ge=0, le=10, title="Retries")
    enabled: bool = True


class ProbeAdapter(ChannelAdapter):
    """Stands in for the API channel: the form is drawn from whatever schema a channel declares."""

    kind = "api"
    config_schema = ProbeConfig
    secret_fields = frozenset({"secret"})

    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        return []

    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        return DeliveryResult.sent()


@pytest.fixture
def probe() -> Iterator[None]:
    previous = base.ADAPTERS.get("api")
    base.register(ProbeAdapter())
    try:
        yield
    finally:
        base.unregister("api")
        if previous is not None:
            base.register(previous)


async def _stored(api: World, inbox_id: int) -> Inbox:
    async with api.server.state.sessionmaker() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        return inbox


async def test_admin_creates_a_channel_inbox_and_edits_its_settings(
    api: World, admin_browser: Browser, probe: None
) -> None:
    page = await admin_browser.http.get("/admin/inboxes?lang=en")
    assert '<a href="/admin/inboxes/new/api">New inbox: API</a>' in page.text
    form = await admin_browser.http.get("/admin/inboxes/new/api?lang=zh_CN")
    assert form.status_code == 200 and "<h1>新建接入渠道：API</h1>" in form.text
    assert 'name="config.secret" type="password"' in form.text and 'name="config.retries" type="number"' in form.text

    bad = {"name": "ERP", "config.webhook_url": "ftp://erp", "config.retries": "3"}
    r = await admin_browser.post_form("/admin/inboxes/new/api?lang=en", bad)
    assert r.status_code == 422 and "config.webhook_url: String should match pattern" in r.text
    assert 'value="ftp://erp"' in r.text  # what was typed is shown again

    good = {"name": "ERP", "config.webhook_url": "https://erp.example/kefu", "config.secret": "s3cret-value",
            "config.retries": "5", "config.enabled": "true"}  # fmt: skip
    r = await admin_browser.post_form("/admin/inboxes/new/api", good)
    assert r.status_code == 303
    inbox_id = int(r.headers["location"].rsplit("/", 1)[1])
    inbox = await _stored(api, inbox_id)
    assert (inbox.channel_type, inbox.name) == ("api", "ERP")
    assert inbox.config == {"webhook_url": "https://erp.example/kefu", "secret": "s3cret-value", "retries": 5,
                            "enabled": True}  # fmt: skip

    detail = await admin_browser.http.get(f"/admin/inboxes/{inbox_id}?lang=zh_TW")
    assert f'value="{api.server.state.settings.base_url}/channels/{inbox.public_key}"' in detail.text
    assert f'name="config.secret" type="password" autocomplete="new-password" value="{SECRET_MASK}"' in detail.text
    assert "s3cret-value" not in detail.text

    # the mask keeps the secret; an unticked box is false
    edit = {"name": "ERP 2", "config.webhook_url": "https://erp.example/v2", "config.secret": SECRET_MASK,
            "config.retries": "1"}  # fmt: skip
    r = await admin_browser.post_form(f"/admin/inboxes/{inbox_id}/settings", edit)
    assert (r.status_code, r.headers["location"]) == (303, f"/admin/inboxes/{inbox_id}")
    inbox = await _stored(api, inbox_id)
    assert inbox.name == "ERP 2"
    assert inbox.config == {"webhook_url": "https://erp.example/v2", "secret": "s3cret-value", "retries": 1,
                            "enabled": False}  # fmt: skip

    r = await admin_browser.post_form(f"/admin/inboxes/{inbox_id}/settings?lang=en", {**edit, "config.retries": "99"})
    assert r.status_code == 422 and "config.retries: Input should be less than or equal to 10" in r.text
    assert (await _stored(api, inbox_id)).config["retries"] == 1

    assert (await admin_browser.http.get("/admin/inboxes/new/web_widget")).status_code == 404
    assert (await admin_browser.http.get("/admin/inboxes/new/fax")).status_code == 404


async def test_only_admins_reach_the_channel_pages(api: World, probe: None) -> None:
    agent = await login(api, await api.user(Role.SUPERVISOR))
    assert (await agent.http.get("/admin/inboxes/new/api")).status_code == 403
    r = await agent.post_form("/admin/inboxes/new/api", {"name": "x", "config.webhook_url": "https://x.example"})
    assert r.status_code == 403
