"""The customer side: /widget.js (the embeddable loader), /widget/frame (the chat inside the iframe),
and /demo (a sample shop page that embeds the widget)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu.attachments.files import attachment_limits
from kefu.channels.service import embed_snippet
from kefu.channels.widget.service import get_widget_inbox
from kefu.core.deps import SessionDep
from kefu.demo.seed import find_demo_inbox
from kefu.web.i18n import LOCALES, normalize
from kefu.web.rendering import PageRoute, page, request_locale
from kefu.web.templating import STATIC, translate

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LOADER = STATIC / "widget" / "loader.js"


def loader_labels() -> dict[str, dict[str, str]]:
    """The loader's few strings, from the catalogs (the loader runs on the customer's site)."""
    return {
        loc: {
            "open": translate(loc, "Chat with us"),
            "close": translate(loc, "Close chat"),
            "title": translate(loc, "Customer service chat"),
        }
        for loc in LOCALES
    }


@router.get("/widget.js")
async def widget_js() -> Response:
    labels = json.dumps(loader_labels(), ensure_ascii=False).replace("<", "\\u003c")
    return Response(
        LOADER.read_text(encoding="utf-8").replace("__KEFU_LABELS__", labels),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/widget/frame")
async def widget_frame(request: Request, session: SessionDep, inbox: str = "", locale: str = "") -> Response:
    found = await get_widget_inbox(session, inbox)
    chosen = locale if locale in LOCALES else (normalize(locale) or request_locale(request))
    request.state.locale = chosen
    limits = attachment_limits(request.app.state.kefu.settings)
    return page(request, "widget/frame.html", {"inbox": found, **limits})


@router.get("/demo")
async def demo(request: Request, session: SessionDep, inbox: str | None = None) -> Response:
    found = await get_widget_inbox(session, inbox) if inbox else await find_demo_inbox(session)
    snippet = embed_snippet(str(request.base_url), found)[0] if found else None
    return page(request, "demo.html", {"inbox": found, "snippet": snippet})
