"""What admins and users set up around tickets: custom field definitions, saved views (per user) and the
account's ticket settings (the repeat-contact window). Writes here, like every service module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account
from kefu.auth.access import get_scoped, restrict
from kefu.core.constants import EventType
from kefu.core.errors import Conflict, NotFound
from kefu.core.events import Actor, commit, emit
from kefu.tickets.models import TicketField, TicketView
from kefu.tickets.schemas import FieldCreate, TicketSettings, ViewCreate

SETTINGS_KEY = "tickets"  # in Account.settings


# ---- custom field definitions --------------------------------------------------------------------------


async def list_fields(session: AsyncSession, account_id: int) -> list[TicketField]:
    q = restrict(select(TicketField), TicketField, account_id).order_by(TicketField.position, TicketField.id)
    return list((await session.execute(q)).scalars())


async def check_create_field(session: AsyncSession, account_id: int, data: FieldCreate, actor: Actor) -> TicketField:
    taken = await session.execute(
        restrict(select(TicketField.id), TicketField, account_id).where(TicketField.key == data.key)
    )
    if taken.first() is not None:
        raise Conflict(f"a custom field with the key {data.key} already exists")
    field = TicketField(account_id=account_id, **data.model_dump(mode="json"))
    session.add(field)
    await session.flush()
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {"ticket_field_added": data.key}, actor=actor)
    await commit(session)
    return field


async def do_delete_field(session: AsyncSession, account_id: int, field_id: int, actor: Actor) -> None:
    """Delete a definition; values already stored on tickets stay in their JSON (shown as they are)."""
    field = await get_scoped(session, TicketField, field_id, account_id, "custom field")
    await session.delete(field)
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {"ticket_field_deleted": field.key}, actor=actor)
    await commit(session)


# ---- saved views ---------------------------------------------------------------------------------------


async def list_views(session: AsyncSession, account_id: int, user_id: int) -> list[TicketView]:
    q = restrict(select(TicketView), TicketView, account_id).where(TicketView.user_id == user_id)
    return list((await session.execute(q.order_by(TicketView.name))).scalars())


async def get_view(session: AsyncSession, account_id: int, user_id: int, view_id: int) -> TicketView:
    """One of the user's own views (another user's id is a 404, like another account's)."""
    view = await get_scoped(session, TicketView, view_id, account_id, "saved view")
    if view.user_id != user_id:
        raise NotFound("saved view", view_id)
    return view


async def check_create_view(session: AsyncSession, account_id: int, user_id: int, data: ViewCreate) -> TicketView:
    taken = await session.execute(
        select(TicketView.id).where(TicketView.user_id == user_id, TicketView.name == data.name)
    )
    if taken.first() is not None:
        raise Conflict(f"you already have a saved view named {data.name}")
    filters = data.filters.model_dump(mode="json", exclude_none=True)
    view = TicketView(account_id=account_id, user_id=user_id, name=data.name, filters=filters)
    session.add(view)
    await commit(session)
    return view


async def do_delete_view(session: AsyncSession, account_id: int, user_id: int, view_id: int) -> None:
    view = await get_view(session, account_id, user_id, view_id)
    await session.delete(view)
    await commit(session)


# ---- settings ------------------------------------------------------------------------------------------


def settings_of(account: Account) -> TicketSettings:
    stored: dict[str, Any] = (account.settings or {}).get(SETTINGS_KEY, {})
    return TicketSettings.model_validate(stored)


async def get_settings(session: AsyncSession, account_id: int) -> TicketSettings:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return settings_of(account)


async def do_put_settings(session: AsyncSession, account_id: int, data: TicketSettings, actor: Actor) -> TicketSettings:
    account = await session.get(Account, account_id, with_for_update={"key_share": True})
    if account is None:
        raise NotFound("account", account_id)
    account.settings = {**(account.settings or {}), SETTINGS_KEY: data.model_dump(mode="json")}
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {SETTINGS_KEY: data.model_dump(mode="json")}, actor=actor)
    await commit(session)
    return data
