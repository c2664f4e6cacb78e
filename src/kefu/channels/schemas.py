from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from kefu.core.constants import ChannelType
from kefu.core.schemas import Id, PatchModel, ReadModel, ShortName, StrictModel


class InboxCreate(StrictModel):
    name: ShortName
    channel_type: ChannelType = ChannelType.WEB_WIDGET
    greeting: str = Field("", max_length=1000)
    bot_enabled: bool = False
    team_id: Id | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class InboxUpdate(PatchModel):
    NULLABLE = frozenset({"team_id"})  # null: no team
    name: ShortName | None = None
    greeting: str | None = Field(None, max_length=1000)
    bot_enabled: bool | None = None
    team_id: Id | None = None
    config: dict[str, Any] | None = None


class InboxRead(ReadModel):
    id: int
    name: str
    channel_type: ChannelType
    public_key: str
    greeting: str
    bot_enabled: bool
    team_id: int | None
    config: dict[str, Any]
    created_at: datetime


class EmbedSnippet(ReadModel):
    inbox_id: int
    snippet: str
    script_url: str
