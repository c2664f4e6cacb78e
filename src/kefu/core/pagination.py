"""Opaque keyset cursors. A cursor names the last row of the previous page; it never skips or repeats
rows when new ones arrive between pages."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import BadRequest

MAX_LIMIT = 100


@dataclass(frozen=True)
class Cursor:
    id: int
    ts: datetime | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {"id": self.id}
        if self.ts is not None:
            data["ts"] = self.ts.isoformat()
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            ts = datetime.fromisoformat(data["ts"]) if "ts" in data else None
            return cls(id=int(data["id"]), ts=ts)
        except (binascii.Error, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise BadRequest("invalid cursor") from exc


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
