"""Keyset cursors. A cursor names the last row of the previous page; it never skips or repeats rows when
new ones arrive between pages. A cursor is `<id>` (lists by id) or `<microseconds since 1970>_<id>` (lists
by time, then id); every string of that form is a valid cursor, so the OpenAPI pattern is the whole rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import BadRequest

MAX_LIMIT = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
ID_CURSOR = r"^[1-9][0-9]{0,17}$"  # below 10^18, inside the 64-bit id range
TIME_CURSOR = r"^[0-9]{1,16}_[1-9][0-9]{0,17}$"  # up to the year 2286

CursorParam = Annotated[
    str | None,
    Query(pattern=ID_CURSOR, description="the `next_cursor` of the previous page (omit it for the first page)"),
]
TimeCursorParam = Annotated[
    str | None,
    Query(pattern=TIME_CURSOR, description="the `next_cursor` of the previous page (omit it for the first page)"),
]


@dataclass(frozen=True)
class Cursor:
    id: int
    ts: datetime | None = None

    def encode(self) -> str:
        if self.ts is None:
            return str(self.id)
        return f"{(self.ts - EPOCH) // MICROSECOND}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        if re.fullmatch(ID_CURSOR, raw):
            return cls(id=int(raw))
        if re.fullmatch(TIME_CURSOR, raw):
            micros, ident = raw.split("_")
            return cls(id=int(ident), ts=EPOCH + int(micros) * MICROSECOND)
        raise BadRequest("invalid cursor")


async def page_by_id(
    session: AsyncSession,
    query: Select[Any],
    model: Any,
    cursor: Cursor | None,
    limit: int,
    *,
    descending: bool = True,
) -> tuple[list[Any], Cursor | None]:
    if cursor is not None:
        query = query.where(model.id < cursor.id if descending else model.id > cursor.id)
    query = query.order_by(model.id.desc() if descending else model.id.asc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    return _cut(rows, limit, lambda r: Cursor(r.id))


async def page_by_time(
    session: AsyncSession, query: Select[Any], model: Any, column: Any, cursor: Cursor | None, limit: int
) -> tuple[list[Any], Cursor | None]:
    """Newest first by (column, id)."""
    if cursor is not None:
        if cursor.ts is None:
            raise BadRequest("invalid cursor")
        query = query.where(or_(column < cursor.ts, and_(column == cursor.ts, model.id < cursor.id)))
    query = query.order_by(column.desc(), model.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    return _cut(rows, limit, lambda r: Cursor(r.id, getattr(r, column.key)))


def _cut(rows: list[Any], limit: int, make: Any) -> tuple[list[Any], Cursor | None]:
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, make(rows[-1])
    return rows, None
