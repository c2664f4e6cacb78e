"""create_app(settings) — the application factory. Nothing happens at import time.

The top layer (docs/architecture.md "Layers"): the only place that knows every domain. It installs the
domains' services on the app state, registers the job modules (`register_jobs`, an explicit list) and
includes the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kefu import __version__
from kefu.attachments.urls import AttachmentUrls
from kefu.auth.deps import get_principal
from kefu.bot.runtime import get_runtime, install_bot
from kefu.core import errorhandlers, openapi
from kefu.core.accesslog import install_access_log_filter
from kefu.core.api import DOCS_STATIC
from kefu.core.guards import BodyLimit, ClientAddress, SecurityHeaders
from kefu.core.metrics import process_exiting
from kefu.core.state import AppState
from kefu.core.telemetry import RequestTelemetry
from kefu.realtime.ws import SOCKET_PATHS, serve_socket
from kefu.routing.presence import install_presence
from kefu.settings import Settings, get_settings
from kefu.web import errors as web_errors

STATIC = Path(__file__).parent / "web" / "static"
# Bodies that may be files: attachments (KEFU_MAX_ATTACHMENT_BYTES) and knowledge imports (2 MiB).
UPLOAD_PATHS = (
    r"^(/api/v1/attachments|/api/v1/widget/[^/]+/attachments|/api/v1/knowledge/import|/admin/knowledge/import)$"
)
MULTIPART_SLACK = 64 * 1024


def register_jobs() -> None:
    """Import the modules that register background jobs (explicit list, no discovery). create_app and
    `kefu worker` call it; core's job runner knows no domain."""
    import kefu.bot.tasks
    import kefu.channels.delivery
    import kefu.conversations.tasks
    import kefu.core.listeners  # (durable event listeners: listeners.dispatch / catch_up)
    import kefu.routing.tasks
    import kefu.routing.tier_tasks  # (customer tiers: routing.tiers_recompute)
    import kefu.sla.tasks
    import kefu.webhooks.tasks  # noqa: F401  (webhooks.deliver, webhooks.deliver_due)

    register_listeners()


def register_listeners() -> None:
    """Import the modules that register durable event listeners (explicit list; core/listeners.py)."""
    import kefu.automation.listeners
    import kefu.channels.wecom.handoff
    import kefu.routing.listeners
    import kefu.routing.tier_listeners
    import kefu.sla.listeners
    import kefu.tickets.listeners
    import kefu.webhooks.listeners  # noqa: F401


def _include_automation(app: FastAPI) -> None:
    """Automation rules, customer tiers, the widget's signed customer level."""
    from kefu.automation.api import router as automation
    from kefu.automation.pages import router as automation_pages
    from kefu.channels.widget.identity_api import admins as widget_identity_admins
    from kefu.channels.widget.identity_api import widget as widget_identity
    from kefu.routing.tier_api import router as tiers

    for router in (automation, automation_pages, tiers, widget_identity, widget_identity_admins):
        app.include_router(router)


def _include_webhooks(app: FastAPI) -> None:
    """Outbound webhooks: the API and Admin → Webhooks."""
    from kefu.webhooks.api import router as webhooks
    from kefu.webhooks.pages import router as webhook_pages

    for router in (webhooks, webhook_pages):
        app.include_router(router)


def register_channels() -> None:
    """Import the modules that register channel adapters (explicit list; kefu.channels.base's registry)."""
    import kefu.channels.api_channel.adapter
    import kefu.channels.email.adapter
    import kefu.channels.wechat.adapter
    import kefu.channels.wecom.adapter
    import kefu.channels.widget.adapter  # noqa: F401


class KefuApp(FastAPI):
    """The app. WebSockets on the socket paths skip the framework's layers (error and exception middleware,
    routing, dependency solving): a socket lives for hours, and each layer's coroutine frame lived with
    it — about 10 KB per idle socket. `sockets` is their own stack: only the guards a socket needs (who the
    client is, the attachment-URL signer) around `kefu.realtime.ws.serve_socket`."""

    sockets: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and self.sockets is not None and scope["path"] in SOCKET_PATHS:
            scope["app"] = self
            await self.sockets(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    register_jobs()
    register_channels()
    state = AppState.build(settings)
    install_bot(state)
    install_presence(state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from kefu.channels.email.poller import Poller
        from kefu.channels.email.smtp_receiver import start_smtp_receiver
        from kefu.conversations.ingest import stop_ingest
        from kefu.knowledge.search_node import start_search, stop_search

        await state.start()
        mail_poller = Poller(state).start()
        smtp = await start_smtp_receiver(state) if settings.smtp_listen else None
        knowledge = start_search(state)
        if settings.knowledge_warmup:
            knowledge.warm_up()
            get_runtime(state).warm_up()
        try:
            yield
        finally:
            if smtp is not None:
                await smtp.stop()
            await mail_poller.stop()
            await stop_ingest(state)
            await get_runtime(state).stop()
            await stop_search(state)
            await state.stop()
            process_exiting()

    app = KefuApp(
        title="kefu API",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served by core/api.py from the fastapi-offline package (no CDN)
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        description="kefu (客服) REST API. Authenticate with `Authorization: Bearer <API token>`.",
    )
    app.state.kefu = state
    errorhandlers.install(app)
    web_errors.install(app)  # HTML 404 for unknown pages, JSON elsewhere
    _include_routers(app, demo=settings.demo)
    openapi.install(app, login=get_principal)
    _install_guards(app, settings)
    app.mount("/static/docs", StaticFiles(directory=DOCS_STATIC), name="docs")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _install_guards(app: FastAPI, settings: Settings) -> None:
    """Outermost first: the client's address, the request telemetry, the body limit, the response headers,
    the URL signer."""
    from kefu.knowledge.importing import MAX_IMPORT_BYTES

    uploads = max(settings.max_attachment_bytes, MAX_IMPORT_BYTES) + MULTIPART_SLACK
    if isinstance(app, KefuApp):
        signed = AttachmentUrls(serve_socket, secret=settings.secret_key, max_age_s=settings.attachment_url_max_age_s)
        app.sockets = ClientAddress(signed, trusted=settings.trusted_proxies)
    app.add_middleware(AttachmentUrls, secret=settings.secret_key, max_age_s=settings.attachment_url_max_age_s)
    app.add_middleware(SecurityHeaders, https=settings.https)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes, uploads=uploads, upload_paths=UPLOAD_PATHS)
    app.add_middleware(RequestTelemetry)  # request id, request metrics and log line (inside: sees the client)
    app.add_middleware(ClientAddress, trusted=settings.trusted_proxies)
    install_access_log_filter()


def _include_routers(app: FastAPI, *, demo: bool) -> None:
    from kefu.accounts.api import router as accounts
    from kefu.attachments.api import router as attachments
    from kefu.audit.api import router as audit
    from kefu.audit.listeners_api import router as listeners
    from kefu.auth.api import router as auth
    from kefu.bot.api import router as bot
    from kefu.bot.demo import router as bot_demo
    from kefu.bot.pages import router as bot_pages
    from kefu.channels.api import router as inboxes
    from kefu.channels.webhook import router as channel_webhooks
    from kefu.channels.widget.api import FAST_ROUTES
    from kefu.channels.widget.api import agents as widget_agents
    from kefu.channels.widget.api import router as widget
    from kefu.contacts.api import router as contacts
    from kefu.conversations.api import router as conversations
    from kefu.core.api import router as core
    from kefu.knowledge.api import router as knowledge
    from kefu.knowledge.pages import router as knowledge_pages
    from kefu.realtime.ws import router as ws
    from kefu.routing.api import router as routing
    from kefu.routing.pages import router as queue_pages
    from kefu.routing.planning_api import router as routing_planning
    from kefu.routing.planning_pages import router as routing_pages
    from kefu.sla.api import router as sla
    from kefu.sla.pages import router as sla_pages
    from kefu.tickets.api import router as tickets
    from kefu.tickets.pages import router as ticket_pages
    from kefu.web.routes import router as web

    # Routes are matched in order: the customer-message fast route, then the widget's.
    for route in FAST_ROUTES:
        app.router.routes.append(route)
    routers = (widget, core, audit, auth, accounts, inboxes, contacts, conversations, knowledge, bot, ws, web)
    for router in (*routers, widget_agents, attachments, knowledge_pages, bot_pages, listeners, routing, queue_pages):
        app.include_router(router)
    # SLA, the priority matrix and staffing (docs/staffing.md), tickets
    for router in (sla, sla_pages, routing_planning, routing_pages, tickets, ticket_pages, channel_webhooks):
        app.include_router(router)
    _include_automation(app)
    _include_webhooks(app)
    if demo:  # the demo's order API: only where the demo runs (KEFU_DEMO=1), never in the OpenAPI document
        app.include_router(bot_demo, include_in_schema=False)
