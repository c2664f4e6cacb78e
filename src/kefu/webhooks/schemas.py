"""Webhooks over the API: the subscription (events checked against kefu.core.constants.EventType) and the
delivery log. A webhook's secret is shown in full once, in the answer to the request that created it;
every other read shows the mask."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from kefu.core.constants import EventType
from kefu.core.schemas import PatchModel, ReadModel, StrictModel

SECRET_MASK = "********"
SUBSCRIBABLE: tuple[str, ...] = tuple(str(e) for e in EventType)
MAX_EVENTS = len(SUBSCRIBABLE)
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Secret = Annotated[str, StringConstraints(max_length=200)]
SECRET_CHARS = re.compile(r"^[\x21-\x7e]{16,200}$")


def check_events(events: list[str]) -> list[str]:
    """The subscribed event types, each once, in the order of EventType; an unknown one is named."""
    unknown = [e for e in events if e not in SUBSCRIBABLE]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r} (one of: {', '.join(SUBSCRIBABLE)})")
    return [e for e in SUBSCRIBABLE if e in set(events)]


def check_secret(secret: str) -> str:
    if not SECRET_CHARS.match(secret):
        raise ValueError("a secret is 16 to 200 printable ASCII characters without spaces")
    return secret


class WebhookCreate(StrictModel):
    url: Url = Field(description="http(s) URL on the account's list of outbound hosts")
    events: list[str] = Field(min_length=1, max_length=MAX_EVENTS, description="event types, e.g. message.created")
    secret: Secret | None = Field(
        None, description="HMAC key (16–200 printable ASCII characters); left out: one is generated"
    )
    active: bool = True

    _events = field_validator("events")(check_events)

    @field_validator("secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        return None if secret is None else check_secret(secret)


class WebhookUpdate(PatchModel):
    url: Url | None = None
    events: list[str] | None = Field(None, min_length=1, max_length=MAX_EVENTS)
    secret: Secret | None = Field(None, description="a new HMAC key; the mask keeps the current one")
    active: bool | None = None

    @field_validator("events")
    @classmethod
    def _events(cls, events: list[str] | None) -> list[str] | None:
        return None if events is None else check_events(events)

    @field_validator("secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        return None if secret is None or secret == SECRET_MASK else check_secret(secret)


class WebhookRead(ReadModel):
    id: int
    url: str
    events: list[str]
    active: bool
    secret: str = Field(description=f"always {SECRET_MASK!r}, except in the answer to the create request")
    created_at: datetime
    updated_at: datetime


class AttemptRead(ReadModel):
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    ok: bool
    replay: bool


class DeliveryRead(ReadModel):
    id: int
    delivery_id: str = Field(description="the X-Kefu-Delivery header and the body's `id`, the same on every attempt")
    webhook_id: int
    event_id: int
    event_type: str
    status: str = Field(description="pending | delivered | failed")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_duration_ms: int | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[AttemptRead] = Field(default_factory=list, description="every attempt, oldest first")
