from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from kefu.core.constants import Continuity
from kefu.core.http import MAX_ALLOWED_HOSTS, parse_hosts
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


class OutboundHosts(StrictModel):
    """The hosts the bot's flow actions may call: `host` (any port, public addresses only) or `host:port`
    (that port; allowed even on a private or loopback address — the admin's explicit choice)."""

    hosts: list[str] = Field(
        default_factory=list, max_length=MAX_ALLOWED_HOSTS, examples=[["api.shop.example:443", "erp.lan:8080"]]
    )

    @field_validator("hosts")
    @classmethod
    def _parse(cls, hosts: list[str]) -> list[str]:
        return [str(h) for h in parse_hosts(hosts)]


class ContinuitySetting(StrictModel):
    """When a contact with an open conversation writes from another inbox: `same_conversation` (the message
    goes into that conversation) or `linked` (a new conversation in the new inbox, linked to the open one)."""

    continuity: Continuity
