from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from kefu.core.constants import Role
from kefu.core.schemas import Name, PatchModel, ReadModel, ShortName, StrictModel


class LoginIn(StrictModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class UserRead(ReadModel):
    id: int
    account_id: int
    email: str
    name: str
    role: Role
    is_active: bool
    locale: str | None
    created_at: datetime


class UserCreate(StrictModel):
    email: EmailStr
    name: Name
    password: str = Field(min_length=8, max_length=200)
    role: Role = Role.AGENT
    locale: str | None = Field(None, pattern=r"^(zh_CN|zh_TW|en)$")


class UserUpdate(PatchModel):
    NULLABLE = frozenset({"locale"})  # null: the account's language
    name: Name | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=200)
    locale: str | None = Field(None, pattern=r"^(zh_CN|zh_TW|en)$")


class ApiTokenCreate(StrictModel):
    name: ShortName


class ApiTokenRead(ReadModel):
    id: int
    name: str
    prefix: str
    user_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    token: str = Field(description="Shown once; store it now.")


class MeRead(UserRead):
    csrf_token: str | None = None
