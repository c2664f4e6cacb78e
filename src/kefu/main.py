"""create_app(settings) — the application factory. Nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kefu import __version__
from kefu.bot.runtime import install_bot
from kefu.core import errorhandlers, openapi
from kefu.core.api import DOCS_STATIC
from kefu.core.state import AppState
from kefu.settings import Settings, get_settings
from kefu.web import errors as web_errors

STATIC = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = AppState.build(settings)
    install_bot(state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from kefu.conversations.ingest import stop_ingest
        from kefu.knowledge.index import start_knowledge, stop_knowledge

        await state.start()
        knowledge = start_knowledge(state)
        if settings.knowledge_warmup:
            knowledge.warm_up()
            install_bot(state).warm_up()
        try:
            yield
        finally:
            await stop_ingest(state)
            await install_bot(state).stop()
            await stop_knowledge(state)
            await state.stop()

    app = FastAPI(
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
    _include_routers(app)
    openapi.install(app)
    app.mount("/static/docs", StaticFiles(directory=DOCS_STATIC), name="docs")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _include_routers(app: FastAPI) -> None:
    from kefu.accounts.api import router as accounts
    from kefu.attachments.api import router as attachments
    from kefu.auth.api import router as auth
    from kefu.bot.api import router as bot
    from kefu.bot.demo import router as bot_demo
    from kefu.bot.pages import router as bot_pages
    from kefu.channels.api import router as inboxes
    from kefu.channels.widget.api import FAST_ROUTES
    from kefu.channels.widget.api import router as widget
    from kefu.contacts.api import router as contacts
    from kefu.conversations.api import router as conversations
    from kefu.core.api import router as core
    from kefu.knowledge.api import router as knowledge
    from kefu.knowledge.pages import router as knowledge_pages
    from kefu.realtime.ws import router as ws
    from kefu.web.routes import router as web

    # Routes are matched in order: the customer-message fast route, then the widget's.
    for route in FAST_ROUTES:
        app.router.routes.append(route)
    routers = (widget, core, auth, accounts, inboxes, contacts, conversations, knowledge, bot, bot_demo, ws, web)
    for router in (*routers, attachments, knowledge_pages, bot_pages):
        app.include_router(router)
