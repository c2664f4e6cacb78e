from __future__ import annotations

from datetime import datetime

from pydantic import Field

from kefu.core.schemas import Id, Name, PatchModel, ReadModel, ShortName, StrictModel


class AccountRead(ReadModel):
    id: int
    name: str
    locale: str
    timezone: str


class TeamCreate(StrictModel):
    name: ShortName
    description: str = Field("", max_length=2000)
    member_ids: list[Id] = Field(default_factory=list, max_length=500)


class TeamUpdate(PatchModel):
    name: ShortName | None = None
    description: str | None = Field(None, max_length=2000)
    member_ids: list[Id] | None = Field(None, max_length=500)


class TeamRead(ReadModel):
    id: int
    name: str
    description: str
    member_ids: list[int] = Field(default_factory=list)
    created_at: datetime


class AccountCreate(StrictModel):
    name: Name
    locale: str = Field("zh_CN", pattern=r"^(zh_CN|zh_TW|en)$")
