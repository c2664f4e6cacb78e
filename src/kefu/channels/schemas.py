from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from kefu.channels.configs import CONFIGS, SECRET_MASK
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
    channel_type: str = Field(description="web_widget | api | email | wechat | wecom")
    public_key: str
    greeting: str
    bot_enabled: bool
    team_id: int | None
    config: dict[str, Any]
    created_at: datetime
    callback_url: str | None = Field(
        None, description="the absolute URL to give the provider (WeChat, WeCom, …): GET verifies, POST receives"
    )

    @model_validator(mode="after")
    def _mask_secrets(self) -> InboxRead:
        channel = CONFIGS.get(str(self.channel_type))
        hidden = channel.secret_fields if channel is not None else frozenset()
        self.config = {k: (SECRET_MASK if k in hidden and v else v) for k, v in self.config.items()}
        return self


class EmbedSnippet(ReadModel):
    inbox_id: int
    snippet: str
    script_url: str
