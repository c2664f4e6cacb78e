"""Server-rendered UI routes (thin: they call services and render templates). See docs/ui.md."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from kefu.web.pages import admin, auth, contacts, inboxes, listeners, widget, workspace
from kefu.web.templating import STATIC

router = APIRouter(include_in_schema=False)
for module in (auth, workspace, contacts, admin, inboxes, listeners, widget):
    router.include_router(module.router)


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico on every site whatever the page links; pages also link it."""
    return FileResponse(
        STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )
