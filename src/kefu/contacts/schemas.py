from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field

from kefu.core.constants import ContactSegment, ContactTier, IdentityKind
from kefu.core.schemas import PatchModel, ReadModel, StrictModel


class IdentityRead(ReadModel):
    kind: IdentityKind
    value: str
    inbox_id: int | None


class ContactRead(ReadModel):
    id: int
    name: str
    email: str | None
    phone: str | None
    tier: ContactTier
    segment: ContactSegment | None = None
    segment_reasons: list[str] = Field(default_factory=list)
    churn_risk: bool = False
    locale: str | None
    attributes: dict[str, Any]
    created_at: datetime


class ContactDetail(ContactRead):
    identities: list[IdentityRead]


class ContactCreate(StrictModel):
    name: str = Field("", max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40, pattern=r"^\+?[0-9 ()-]{3,40}$")
    tier: ContactTier = ContactTier.NORMAL
    attributes: dict[str, Any] = Field(default_factory=dict)


class ContactUpdate(PatchModel):
    NULLABLE = frozenset({"email", "phone"})  # null: forget it
    name: str | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40, pattern=r"^\+?[0-9 ()-]{3,40}$")
    tier: ContactTier | None = None
    attributes: dict[str, Any] | None = None
