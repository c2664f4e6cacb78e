from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field

from kefu.core.constants import ContactSegment, ContactTier, IdentityKind, MergeReason
from kefu.core.schemas import Id, PatchModel, ReadModel, StrictModel


class IdentityRead(ReadModel):
    id: int
    kind: IdentityKind
    value: str
    inbox_id: int | None


class IdentityCreate(StrictModel):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=254, description="an email, a phone number (stored in E.164) …")
    merge: bool = Field(
        False, description="when another contact holds this identity: merge that contact into this one (else 409)"
    )


class IdentityAdded(IdentityRead):
    merge_id: int | None = Field(None, description="the merge the identity caused, when `merge` was used")


class MergeIn(StrictModel):
    other_id: Id = Field(description="the contact to absorb into this one")


class SplitIn(StrictModel):
    merge_id: Id = Field(description="a merge into this contact (GET /contacts/{id}/merges) to undo")


class MergeRead(ReadModel):
    id: int
    kept_id: int
    absorbed_id: int
    reason: MergeReason
    actor_type: str
    actor_id: int | None
    moved: dict[str, Any]
    created_at: datetime
    split_at: datetime | None


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
    merged_into_id: int | None = Field(None, description="set on a contact merged into another one")


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
