"""Server-rendered UI routes (thin: they call services and render templates). See docs/ui.md."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.web.pages import admin, auth, widget, workspace

router = APIRouter(include_in_schema=False)
for module in (auth, workspace, admin, widget):
    router.include_router(module.router)
