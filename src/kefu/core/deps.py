"""FastAPI dependencies as Annotated aliases for the plumbing: the app state, the settings, a database
session bound to the bus. Who is asking (the principal, `Can*`) is kefu.auth.deps: core knows no users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.events import bind_bus
from kefu.core.state import AppState
from kefu.settings import Settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_state(request: Request) -> AppState:
    return request.app.state.kefu


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.sessionmaker() as session:
        bind_bus(session, state.bus)
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
