"""Account scoping: every read and write goes through these few, heavily tested functions."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import NotFound

T = TypeVar("T")
S = TypeVar("S", bound=Select)


def restrict(query: S, model: Any, account_id: int) -> S:
    """Scope a query to one account (netbox's RestrictedQuerySet.restrict)."""
    return query.where(model.account_id == account_id)


async def get_scoped(session: AsyncSession, model: type[T], ident: int, account_id: int, what: str) -> T:
    """The row `ident` of `model` if it belongs to `account_id`, else NotFound (never Forbidden:
    another account's ids must be indistinguishable from ids that do not exist)."""
    row = await session.get(model, ident)
    if row is None or getattr(row, "account_id", None) != account_id:
        raise NotFound(what, ident)
    return row
